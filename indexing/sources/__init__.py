"""Where documents come from: files, Slack (Web API and export folders), web pages.

Each source is a small class behind `base.Source`; the pipeline does not know which kind it indexes.
"""
