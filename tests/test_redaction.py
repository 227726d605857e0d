"""Secrets and e-mail addresses never reach the audit log."""

from core.redaction import redact


def test_tokens_keys_and_emails_are_replaced_by_labels():
    text = ("my bot token xoxb-1234567890-abcdefghij fails, app token xapp-1-A0B1-99887766, "
            "OPENAI sk-proj-abcdefghijklmnop1234 and AKIAIOSFODNN7EXAMPLE, "
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1, password: hunter22 "
            "gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789, mail dana.s@example.com")
    out = redact(text)
    for secret in ("xoxb-1234567890", "xapp-1-A0B1", "sk-proj-abc", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI",
                   "hunter22", "ghp_abc", "dana.s@example.com"):
        assert secret not in out
    for label in ("slack-token", "openai-key", "aws-access-key", "aws-secret", "password", "github-token", "email"):
        assert f"[redacted {label}]" in out
    assert out.startswith("my bot token [redacted slack-token] fails")
    assert "dana.s@example.com" in redact("mail dana.s@example.com", emails=False)


def test_private_key_blocks_are_removed_whole():
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    assert redact(f"is this right?\n{key}\nthanks") == "is this right?\n[redacted private-key]\nthanks"


def test_stored_question_is_redacted_but_the_answer_flow_is_not(settings, corpus):
    from audit.log import get_answer
    from indexing.pipeline import index_paths
    from service.answers import AnswerService

    index_paths([corpus], settings)
    answerer = AnswerService(settings)
    result = answerer.ask("Where can I park my bike? my token is xoxb-1111111111-secretsecret, ask bo@example.org")
    assert result.route == "rag"
    row = get_answer(answerer.engine, result.audit_id)
    assert "xoxb-1111111111" not in row.question and "bo@example.org" not in row.question
    assert "[redacted slack-token]" in row.question
    assert [(s.position, s.citations) for s in row.sentences] == [
        (i, ",".join(map(str, sentence.citations))) for i, sentence in enumerate(result.sentences)]
    assert row.sentences and all(s.support > 0 for s in row.sentences)
