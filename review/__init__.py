"""The audit log's review web page (`citebot audit serve`): a small server-rendered WSGI app.

Listing, one answer with its sentences highlighted in the passages that support them, knowledge gaps
and charts. Server-rendered HTML (Jinja2) with no JavaScript: it works behind any proxy, and a reviewer
can bookmark every filtered view because filters are query parameters.
"""
