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



def test_settings_come_in_groups_that_hold_only_their_own_fields(monkeypatch, tmp_path):
    from core.settings import (
        AnsweringSettings,
        AuditSettings,
        OpsSettings,
        RetrievalSettings,
        SlackSettings,
        StorageSettings,
        TuningSettings,
    )

    groups = {"storage": StorageSettings, "retrieval": RetrievalSettings, "answering": AnsweringSettings,
              "slack": SlackSettings, "audit": AuditSettings, "ops": OpsSettings, "tuning": TuningSettings}
    owners = [name for group in groups.values() for name in group.model_fields]
    assert sorted(owners) == sorted(Settings.model_fields), "every setting belongs to exactly one group"
    monkeypatch.setenv("CITEBOT_TOP_K", "5")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-group")
    s = Settings(home=tmp_path)
    for attribute, group in groups.items():
        view = getattr(s, attribute)
        assert type(view) is group and set(type(view).model_fields) == set(group.model_fields)
    assert s.retrieval.top_k == 5 and s.slack.slack_bot_token == "xoxb-group"
    assert s.storage.resolved_database_url == s.resolved_database_url and not hasattr(s.storage, "top_k")
    assert s.model_copy(update={"top_k": 3}).retrieval.top_k == 3, "a view follows the settings it came from"


def test_freshness_reads_like_a_person_would_say_it():
    from datetime import datetime, timezone

    from core.dates import updated_ago

    now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    said = {value: updated_ago(value, now) for value in ("2026-12-02T08:00:00+00:00", "2026-12-01T11:00:00Z",
                                                         "2026-11-29", "2026-11-10", "2026-08-01", "2023-05-01")}
    assert list(said.values()) == ["updated today", "updated yesterday", "updated 3 days ago", "updated 3 weeks ago",
                                   "updated 4 months ago", "updated 3 years ago"]
    assert updated_ago(None) is None and updated_ago("not a date") is None
    assert updated_ago("1970-01-01T00:00:00+00:00") is None, "the epoch is a source that knows no date"
