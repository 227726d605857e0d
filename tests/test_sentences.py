from core.sentences import split_sentences, strip_citations


def test_sentences_keep_their_citation_markers():
    assert split_sentences("Deploys stop on Friday [1]. Rollbacks are always allowed [2][3]. Ok.") == [
        "Deploys stop on Friday [1].", "Rollbacks are always allowed [2][3].", "Ok."]


def test_soft_wrapped_lines_are_one_sentence_and_list_items_are_separate():
    text = "There are\nno deploys on Fridays.\n\n- Install the app.\n- Sign in, e.g. with SSO.\n"
    assert split_sentences(text) == ["There are no deploys on Fridays.", "Install the app.", "Sign in, e.g. with SSO."]


def test_strip_citations():
    assert strip_citations("Backups are kept 35 days [2].") == ("Backups are kept 35 days.", [2])
