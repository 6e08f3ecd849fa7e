"""Turn manual sources into a structured, tokenised, hybrid index.

Stages, one module each: loaders -> cleaning -> structure -> chunks -> tokens -> index.
Ingest knows nothing of answers.
"""
