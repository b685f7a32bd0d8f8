"""The views of a preflight's result: the JSON file and terminal lines, the HTML page, GitHub's summary and
annotations. Plain functions over the payload, which run where the report lands (no Keras, no backend)."""
