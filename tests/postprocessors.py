"""A node postprocessor a team might plug in by configuration (CITEBOT_POSTPROCESSORS): the test's
stand-in for a reranker, keeping only nodes whose source path contains a word, best first."""

from __future__ import annotations

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle


class OnlySources(BaseNodePostprocessor):
    contains: str

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        return [n for n in nodes if self.contains in n.node.metadata["source"]]
