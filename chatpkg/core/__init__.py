"""The core of chatpkg: everything but the front ends, in layers that import downwards only.

    engine      session, turn steps, state, events, transcript, store, replay, commands
    prompts     what the model is shown: context, repair messages, the runaway guard
    models | workspace | runner
                model protocol and backends | git work tree and edits | pytest, program, sandbox
    cancel | tokens
                the cancel token and token counting, used by every layer

pyproject.toml's import-linter contracts enforce the direction, and that the core
imports no UI library and none of chatpkg's front ends.
"""
