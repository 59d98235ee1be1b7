"""The Lambda handlers (one per ``AWS::Serverless::Function`` of template.yaml), thin: parse the
event into ``EVENT_MODEL``, call logic and adapters, return a ``RESULT_MODEL`` as JSON. Each reads
its environment through ``SETTINGS_MODEL`` (``tests/test_edges.py`` ties all three to the ASL and
the template)."""
