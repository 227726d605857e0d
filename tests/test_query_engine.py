"""The answer pipeline as a LlamaIndex query engine: retriever nodes, configured postprocessors, and
generation through LlamaIndex's OpenAI and OpenAILike integrations against the local fake server."""

import pytest
from llama_index.core.schema import NodeWithScore, QueryBundle

from answering.pipeline import Answerer
from core.errors import CitebotError
from emulator.openai_api import OpenAIStandIn
from indexing.pipeline import index_paths
from indexing.retrieval import HybridRetriever
from service.answers import AnswerService


@pytest.fixture
def indexed(settings, corpus):
    index_paths([corpus], settings)
    return settings


def test_retriever_returns_scored_nodes_with_the_passage_metadata(indexed, corpus):
    nodes = HybridRetriever(indexed).retrieve(QueryBundle("Where is the colour printer?"))
    assert nodes and all(isinstance(n, NodeWithScore) for n in nodes)
    assert nodes[0].node.metadata["source"] == str(corpus / "printers.html")
    assert nodes[0].score >= nodes[-1].score and 0 < nodes[0].node.metadata["dense_score"] <= 1


def test_query_engine_answers_with_the_cited_passages_as_source_nodes(indexed, corpus):
    response = Answerer(indexed.index, indexed.answering).query("Where can I park my bike?")
    assert "basement garage" in str(response)
    assert response.metadata["route"] == "rag"
    assert {n.node.metadata["source"] for n in response.source_nodes} == {str(corpus / "parking.md")}
    cited = {c.chunk_id for c in response.metadata["result"].citations}
    assert {n.node.node_id for n in response.source_nodes} == cited


def test_a_configured_postprocessor_decides_which_passages_are_quoted(indexed, corpus):
    plain = AnswerService(indexed).ask("Where can I park my bike, and where is the toner?")
    assert str(corpus / "parking.md") in {c.source for c in plain.citations}
    only = indexed.model_copy(update={"postprocessors": [{"class": "tests.postprocessors:OnlySources",
                                                           "contains": "printers"}]})
    result = AnswerService(only).ask("Where can I park my bike, and where is the toner?")
    assert {c.source for c in result.citations} == {str(corpus / "printers.html")}
    assert all("printers" in p.source for p in result.passages) and result.passages[0].rank == 1


def test_a_postprocessor_that_cannot_be_made_is_a_clear_error(indexed):
    broken = indexed.model_copy(update={"postprocessors": [{"class": "tests.postprocessors:NoSuchThing"}]})
    with pytest.raises(CitebotError, match="CITEBOT_POSTPROCESSORS.*NoSuchThing"):
        AnswerService(broken)


def _parking_answer(messages, model=""):
    return "Bicycles go in the basement garage on level -1 [1]."


@pytest.mark.parametrize("backend, model, integration", [
    ("openai", "gpt-4o-mini", "OpenAI"),  # a model OpenAI's table knows: LlamaIndex's OpenAI class
    ("openai", "fake-gpt", "OpenAILike"),  # an unknown name behind OPENAI_BASE_URL (vLLM, Ollama)
    ("openai-like", "gpt-4o-mini", "OpenAILike"),
])
def test_generation_goes_through_the_llamaindex_integration(indexed, backend, model, integration):
    with OpenAIStandIn(_parking_answer) as fake:
        settings = indexed.model_copy(update={"llm": backend, "llm_model": model, "openai_api_key": "sk-test",
                                              "openai_base_url": fake.base_url})
        service = AnswerService(settings)
        result = service.ask("Where do I park my bike?")
        request = fake.requests[0]
        assert fake.problems == []
    assert type(service.answerer.generator.llm).__name__ == integration
    assert request["model"] == model and request["stream"] is True and request["max_tokens"] == 220
    assert result.model == f"{backend}:{model}" and result.route == "rag"
    assert "basement garage" in result.answer and result.citations[0].source.endswith("parking.md")
    assert result.prompt_tokens and result.completion_tokens == len(_parking_answer([]).split())


def test_an_llm_integration_that_is_not_installed_is_a_clear_error(indexed):
    missing = indexed.model_copy(update={"llm": "llama_index.llms.no_such_provider:Chat"})
    with pytest.raises(CitebotError, match="install the LlamaIndex integration"):
        AnswerService(missing).answerer.generator
