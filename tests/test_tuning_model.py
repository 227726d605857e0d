"""LoRA training, resume, evaluation, promotion, the adapter registry and the bot's hot swap, on the real
small model (CPU) and real SQLite/PostgreSQL."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from sqlalchemy import select

from benchmarks.sample_threads import SHIPPED, generate, write_export
from core.db import get_engine, session_scope
from core.errors import CitebotError, NotFoundError
from core.models import Answer, TuningRun
from core.settings import Settings
from migrations.schema import ensure_schema
from service.answers import AnswerService
from tests.test_cli import run as run_cli
from tuning import registry
from tuning.base_model import fresh_base_model, load_base_model, load_tokenizer
from tuning.dataset import build_dataset
from tuning.evaluate import Behaviour, Evaluation, behaviour_checker, invented_facts, promotion_decision
from tuning.run import collect_threads, run_tuning
from tuning.serving import EscalationModel
from tuning.threads import from_export
from tuning.train import (
    Check,
    TrainConfig,
    add_lora,
    budget_plan,
    collate,
    encode,
    reply_loss,
    shared_prefix,
    train_adapter,
)


@pytest.fixture(scope="module")
def examples():
    return build_dataset(from_export(SHIPPED, "white_check_mark")).train


def test_only_reply_tokens_are_learned(examples):
    tokenizer = load_tokenizer(Settings().model_cache_dir)
    ids, labels = encode(examples[0], tokenizer, max_tokens=512)
    learned = [t for t, label in zip(ids, labels) if label != -100]
    assert tokenizer.decode(learned, skip_special_tokens=True).strip() == examples[0].reply
    assert labels[0] == -100 and len(ids) == len(labels)


def test_the_reply_loss_is_the_models_own_loss_without_logits_for_the_prompt(examples):
    model, tokenizer = load_base_model(Settings().model_cache_dir)
    ids, mask, labels = collate([encode(e, tokenizer, 320) for e in examples[:3]], tokenizer.eos_token_id)
    with torch.no_grad():
        assert reply_loss(model, ids, mask, labels).item() == pytest.approx(
            model(input_ids=ids, attention_mask=mask, labels=labels).loss.item(), abs=1e-4)


def test_the_prompt_start_a_micro_batch_shares_is_computed_once_with_the_same_loss_and_gradients(examples):
    tokenizer = load_tokenizer(Settings().model_cache_dir)
    batch = [encode(e, tokenizer, 320) for e in examples[:3]]
    shared = shared_prefix(batch)
    system = tokenizer.apply_chat_template(examples[0].messages()[:1], tokenize=True)
    system = system["input_ids"] if hasattr(system, "input_ids") else system
    assert shared >= len(system) - 1  # at least the system prompt, and none of the reply
    assert all(label == -100 for _, labels in batch for label in labels[: shared + 1])
    assert shared_prefix(batch[:1]) == 0
    torch.manual_seed(0)
    model = add_lora(fresh_base_model(Settings().model_cache_dir)[0], TrainConfig(dropout=0.0))
    ids, mask, labels = collate(batch, tokenizer.eos_token_id)
    results = []
    for prefix in (0, shared):
        model.zero_grad()
        loss = reply_loss(model, ids, mask, labels, prefix)
        loss.backward()
        results.append((loss.item(), torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])))
    (plain, plain_grad), (once, once_grad) = results
    assert once == pytest.approx(plain, abs=1e-4)
    assert plain_grad.abs().sum() > 0 and torch.allclose(once_grad, plain_grad, atol=1e-5, rtol=1e-3)


class Crash(Exception):
    pass


def test_training_killed_mid_run_resumes_to_the_same_adapter(examples, tmp_path):
    cfg = TrainConfig(batch_size=2, grad_accum=1, epochs=1, max_tokens=160, checkpoint_every=1, dropout=0.1)
    cache, few = Settings().model_cache_dir, examples[:8]
    straight = train_adapter(few, tmp_path / "straight", cache, cfg, "h")

    def crash_at_two(step, total, loss, eta):
        if step == 2:
            raise Crash()

    with pytest.raises(Crash):
        train_adapter(few, tmp_path / "resumed", cache, cfg, "h", progress=crash_at_two)
    assert (tmp_path / "resumed" / "checkpoint" / "state.pt").exists()
    with pytest.raises(CitebotError, match="another dataset"):
        train_adapter(few, tmp_path / "resumed", cache, cfg, "other-hash")
    resumed = train_adapter(few, tmp_path / "resumed", cache, cfg, "h")
    assert (resumed.resumed_from, resumed.steps) == (1, straight.steps)  # the checkpoint before the crash
    assert resumed.losses == pytest.approx(straight.losses, abs=1e-3)
    a = load_file(tmp_path / "straight" / "adapter_model.safetensors")
    b = load_file(tmp_path / "resumed" / "adapter_model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert not (tmp_path / "resumed" / "checkpoint").exists()


def test_a_budget_too_small_for_any_plan_still_stops_with_a_usable_adapter(examples, tmp_path):
    cfg = TrainConfig(batch_size=2, grad_accum=1, epochs=3, max_tokens=160, max_minutes=0.0001)
    result = train_adapter(examples[:40], tmp_path / "a", Settings().model_cache_dir, cfg, "h")
    assert (result.plan["epochs"], result.plan["examples"]) == (1, 10), "shaped down to its floor first"
    assert result.stopped_by_budget and result.steps < result.total_steps == 5
    assert (tmp_path / "a" / "adapter_config.json").exists()


def test_behaviour_checks_keep_the_best_passing_step_and_stop_once_behaviour_regresses(examples, tmp_path):
    from peft import get_peft_model_state_dict

    cfg = TrainConfig(batch_size=2, grad_accum=1, epochs=1, max_tokens=160)  # 8 steps: checks at 2, 4, 6, 8
    seen, kept = [], {}

    def checker(model, tokenizer, step):  # passes up to step 4 (better each time), regresses at step 6
        seen.append(step)
        if step == 4:
            kept.update({k: v.clone() for k, v in get_peft_model_state_dict(model).items()})
        return Check(step, passed=0 < step <= 4, score=float(step))

    result = train_adapter(examples[:16], tmp_path / "a", Settings().model_cache_dir, cfg, "h", checker=checker)
    assert seen == [0, 2, 4, 6], "the base model first, then every quarter, stopping at the regression"
    assert result.steps == 6 and result.selected_step == 4
    assert [c["passed"] for c in result.checks] == [False, True, True, False]
    saved = load_file(tmp_path / "a" / "adapter_model.safetensors")
    assert kept and all(torch.allclose(saved[k].float(), v.float()) for k, v in kept.items()), \
        "the adapter on disk holds step 4's weights, not the last step's"


def test_the_behaviour_checker_measures_the_base_model_first_and_passes_what_does_not_regress(examples):
    from tuning.base_model import fresh_base_model

    model, tokenizer = fresh_base_model(Settings().model_cache_dir)
    check = behaviour_checker(examples, {"@platform-oncall"}, samples=2)
    base = check(model, tokenizer, 0)
    assert not base.passed and base.detail["regressed"] == "base model" and base.detail["samples"] == 2
    same = check(model, tokenizer, 5)  # greedy decoding: the same model writes the same replies
    assert same.passed and same.score == base.score
    with torch.no_grad():  # a broken model (every token equally likely) writes nothing useful: it regresses
        model.get_output_embeddings().weight.zero_()
        model.get_output_embeddings().weight[:, tokenizer.eos_token_id] = 1.0
    broken = check(model, tokenizer, 10)
    assert not broken.passed and "regressed" in broken.detail["regressed"]


def _evaluation(loss, **behaviour):
    values = dict(samples=10, escalation_agreement=0.8, group_agreement=0.7, asks_details=0.8, format_ok=1.0,
                  no_invented_facts=1.0, mean_chars=150.0, tone=0.6) | behaviour
    return Evaluation(loss, 0.0, Behaviour(**values))


@pytest.mark.parametrize("minutes, epochs, examples", [
    (60.0, 2, 100),  # room for the whole schedule
    (15.0, 1, 100),  # one epoch fits, two do not: fewer epochs, every example
    (6.0, 1, 51),  # not even one epoch: the examples of one epoch that fit
    (0.5, 1, 25),  # never below a quarter of the data (the time limit still stops it)
])
def test_a_time_budget_sizes_epochs_and_examples_to_fit_instead_of_cutting_the_schedule(minutes, epochs, examples):
    # 100 examples of 100 tokens at 0.01 s per token: one epoch takes 100 s, the plan uses 85% of the budget
    plan = budget_plan([100] * 100, TrainConfig(epochs=2, max_minutes=minutes / 6), seconds_per_token=0.01)
    assert (plan["epochs"], plan["examples"]) == (epochs, examples)


def test_promotion_needs_lower_loss_and_no_behaviour_regression():
    incumbent = _evaluation(2.0)
    assert promotion_decision(_evaluation(1.5), incumbent)[0]
    assert not promotion_decision(_evaluation(2.1), incumbent)[0]
    refused, why = promotion_decision(_evaluation(1.5, no_invented_facts=0.8), incumbent)
    assert not refused and "no_invented_facts" in why
    refused, why = promotion_decision(_evaluation(1.5, tone=0.5), incumbent)
    assert not refused and "tone" in why


def test_tone_is_how_close_a_generated_reply_reads_to_the_teams_reply():
    from tuning.evaluate import tone_similarity

    team = ["Looping in @db-team, they own the replicas. Can you share the lag graph?"]
    close = tone_similarity(team, ["Looping in @db-team since they own replication; could you share the lag graph?"])
    far = tone_similarity(team, ["The capital of France is Paris."])
    assert 0.7 < close <= 1.0 and far < 0.3 and tone_similarity([], []) == 0.0


def test_invented_facts_are_numbers_links_and_handles_the_thread_never_had():
    thread = "asker: the replica lags since 14:05 UTC"
    assert invented_facts("Looping in @db-team, since 14:05 right?", thread, {"@db-team"}) == []
    assert invented_facts("Try vpn.example.com port 8443, or ask @wifi-team.", thread, {"@db-team"}) == \
        ["8443", "@wifi-team"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_registry_promote_and_rollback(backend, settings, tmp_path, request):
    url = request.getfixturevalue("pg_url") if backend == "postgres" else settings.resolved_database_url
    engine = get_engine(url)
    ensure_schema(engine)
    for version in ("v1", "v2"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "adapter_config.json").write_text("{}")
        registry.start_run(engine, version, "test", "hash", "base", {}, 10, 2, 1.0)
        registry.finish_run(engine, version, status="kept", adapter_path=str(tmp_path / version))
    registry.start_run(engine, "v3", "test", "hash", "base", {}, 10, 2, 1.0)
    registry.finish_run(engine, "v3", status="failed", error="boom")
    assert registry.active_adapter(engine) is None
    registry.promote(engine, "v1")
    registry.promote(engine, "v2")
    assert registry.active_adapter(engine).version == "v2"
    with pytest.raises(CitebotError, match="no adapter files"):
        registry.promote(engine, "v3")
    with pytest.raises(NotFoundError):
        registry.promote(engine, "v9")
    assert registry.rollback(engine) == "v1"
    assert registry.active_adapter(engine).version == "v1"
    assert registry.rollback(engine) is None and registry.active_adapter(engine) is None
    with pytest.raises(CitebotError, match="already uses the base model"):
        registry.rollback(engine)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """One real `tune run` on a small slice of the sample threads, kept small enough for CPU CI. Two epochs
    and four evaluation replies: a one-epoch adapter judged on two replies passed or failed promotion by
    one reply, depending on the dropout mask (README, "Numbers")."""
    root = tmp_path_factory.mktemp("tune")
    write_export(generate(70), root / "export")
    settings = Settings(home=root / "home", tune_epochs=2, tune_batch_size=8, tune_grad_accum=1, tune_lr=2e-3,
                        tune_max_tokens=224, tune_eval_samples=4, tune_min_examples=10, adapter_poll_seconds=0,
                        escalation_contact="@platform-oncall")
    engine = get_engine(settings.resolved_database_url)
    ensure_schema(engine)
    load = collect_threads(engine, settings.tuning, settings.slack, [root / "export"])
    report = run_tuning(engine, settings.storage, settings.tuning, load)
    return settings, engine, load, report, root


def test_tune_run_trains_evaluates_and_promotes_a_better_adapter(tuned):
    settings, engine, _, report, _ = tuned
    assert report.status == "promoted", report.decision
    assert report.evaluation["tuned"]["loss"] < report.evaluation["base"]["loss"]
    adapter = settings.adapters_dir / report.version
    meta = json.loads((adapter / "citebot.json").read_text())
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["dataset_hash"] == report.dataset["dataset_hash"] and "@db-team" in meta["groups"]
    assert set(meta["evaluation"]) == {"base", "tuned"}
    with session_scope(engine) as session:
        row = session.scalar(select(TuningRun).where(TuningRun.version == report.version))
        assert (row.status, row.active, row.adapter_bytes > 0) == ("promoted", True, True)
        assert len(json.loads(row.losses_json)) == report.training["steps"]


def test_no_new_threads_means_no_training(tuned):
    settings, engine, load, report, _ = tuned
    again = run_tuning(engine, settings.storage, settings.tuning, load)
    assert (again.status, again.version) == ("nothing_new", report.version)


def test_escalation_replies_use_the_promoted_adapter_and_swap_without_restart(tuned, corpus):
    settings, engine, _, report, root = tuned
    model = EscalationModel(engine, settings.tuning, settings.model_cache_dir, settings.adapter_poll_seconds)
    assert model.version == report.version and report.version in model.name
    from indexing.pipeline import index_paths

    index_paths([corpus], settings)
    answerer = AnswerService(settings, escalation=model)
    result = answerer.ask("Can someone grant me prod database access?", user="U1", channel="C1")
    assert result.route == "escalate" and result.adapter_version == report.version
    assert not any(ch.isdigit() for ch in result.answer)
    with session_scope(engine) as session:
        row = session.get(Answer, result.audit_id)
        assert row.adapter_version == report.version and row.prompt_tokens > 20 and 0 < row.completion_tokens <= 60
    registry.rollback(engine)
    assert model.refresh() and model.version is None and "lora" not in model.name
    assert model.last_swap_seconds < 2.0
    base_reply = model.complete([{"role": "user", "content": "hi"}], max_tokens=5)
    registry.promote(engine, report.version)
    assert model.refresh() and model.version == report.version
    assert isinstance(base_reply, str)


def test_a_worse_adapter_is_never_promoted(tuned):
    settings, engine, load, report, _ = tuned
    worse = settings.model_copy(update={"tune_lr": 1e-7, "tune_seed": 7})
    outcome = run_tuning(engine, worse.storage, worse.tuning, load, force=True)
    assert outcome.status == "kept" and "loss did not improve" in outcome.decision
    assert registry.active_adapter(engine).version == report.version
    assert set(outcome.evaluation) == {"base", "tuned", "incumbent"}


def test_cli_lists_runs_and_reports_unknown_versions(tuned, cli_env):
    settings, _, _, report, _ = tuned
    env = dict(cli_env, CITEBOT_HOME=str(settings.home))
    listed = run_cli(env, "tune", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert any(r["version"] == report.version and r["active"] for r in runs)
    missing = run_cli(env, "tune", "promote", "no-such-version")
    assert missing.returncode == 3 and "citebot tune list" in missing.stderr
    tiny = Path(settings.home) / "tiny"
    write_export(generate(4), tiny)
    refused = run_cli(env, "tune", "run", "--export", str(tiny), "--force")
    assert refused.returncode == 2 and "training examples are needed" in refused.stderr


def test_a_configured_base_model_trains_in_bfloat16_and_serves_only_its_own_adapters(tmp_path):
    """CITEBOT_TUNE_BASE_MODEL (here a tiny random Llama beside the bundled tokenizer) and
    CITEBOT_TUNE_DTYPE=bfloat16, which `auto` picks on a GPU; run on the CPU here."""
    import math

    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer(Settings().model_cache_dir)
    folder = tmp_path / "tiny-base"
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                 num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                 max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
                                 eos_token_id=tokenizer.eos_token_id)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_export(generate(40), tmp_path / "export")
    settings = Settings(home=tmp_path / "home", tune_base_model=str(folder), tune_dtype="bfloat16", tune_epochs=1,
                        tune_batch_size=8, tune_grad_accum=1, tune_max_tokens=160, tune_eval_samples=2,
                        tune_min_examples=10, adapter_poll_seconds=0)
    engine = get_engine(settings.resolved_database_url)
    ensure_schema(engine)
    report = run_tuning(engine, settings.storage, settings.tuning,
                        collect_threads(engine, settings.tuning, settings.slack, [tmp_path / "export"]))
    adapter = settings.adapters_dir / report.version
    meta = json.loads((adapter / "citebot.json").read_text())
    assert meta["base_model"] == "tiny-base" and meta["config"]["dtype"] == "bfloat16"
    assert report.training["losses"] and all(math.isfinite(loss) for loss in report.training["losses"])
    weights = load_file(adapter / "adapter_model.safetensors")
    assert any(w.shape[-1] == 64 for w in weights.values()), "LoRA matrices of the configured model's width"
    registry.promote(engine, report.version)
    served = EscalationModel(engine, settings.tuning, settings.model_cache_dir, settings.adapter_poll_seconds)
    assert served.version == report.version and served.name == f"local:tiny-base+lora:{report.version}"
    assert isinstance(served.complete([{"role": "user", "content": "hi"}], max_tokens=3), str)
    bundled = EscalationModel(engine, settings.tuning.model_copy(update={"tune_base_model": ""}),
                              settings.model_cache_dir, settings.adapter_poll_seconds)
    assert bundled.version is None, "an adapter of another base model is refused; the base model is served"


def test_a_model_converted_by_two_processes_at_once_keeps_the_first_finished_copy(tmp_path):
    """A bot and a worker starting together on an empty cache both convert the GGUF model: the one that
    finishes second must use the first one's copy, not fail ("Directory not empty", seen in CI)."""
    from tuning.base_model import publish

    target = tmp_path / "smollm2"
    first, second = tmp_path / "first.tmp", tmp_path / "second.tmp"
    for copy in (first, second):
        copy.mkdir(mode=0o700)  # as mkdtemp makes it
        (copy / "config.json").write_text(json.dumps({"copy": copy.name}))
    publish(first, target)
    publish(second, target)
    assert json.loads((target / "config.json").read_text()) == {"copy": "first.tmp"}
    assert target.stat().st_mode & 0o777 == 0o755, "the image's user must read what root converted"
    assert not first.exists() and not second.exists()
    broken = tmp_path / "broken"  # a folder in the way that is not a finished copy: not silently kept
    broken.mkdir()
    (broken / "weights").write_text("half written")
    third = tmp_path / "third.tmp"
    third.mkdir()
    (third / "config.json").write_text("{}")
    with pytest.raises(OSError):
        publish(third, broken)
