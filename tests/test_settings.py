from pathlib import Path

from core.settings import Settings


def test_environment_names_are_the_documented_ones(monkeypatch, tmp_path):
    monkeypatch.setenv("CITEBOT_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("CITEBOT_LLM", "openai")
    monkeypatch.setenv("CITEBOT_LLM_MODEL", "llama3")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    s = Settings()
    assert s.home == (tmp_path / "h").resolve()
    assert (s.llm, s.llm_model, s.openai_base_url) == ("openai", "llama3", "http://127.0.0.1:9/v1")
    assert s.slack_api_url == "http://127.0.0.1:9/api/" and s.slack_bot_token == "xoxb-test"


def test_default_database_is_sqlite_inside_home(tmp_path):
    s = Settings(home=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/audit.db"
    assert s.chroma_path == tmp_path.resolve() / "chroma"


def test_unrelated_home_variable_is_not_citebot_home(monkeypatch):
    monkeypatch.delenv("CITEBOT_HOME", raising=False)
    monkeypatch.setenv("HOME", "/somewhere/else")
    assert Settings().home == Path(".citebot").resolve()

