"""The session engine: turns, their events and state, the transcript, replay, slash commands.

The engine imports every layer below it (prompts, models, workspace, runner); front ends
import the engine. It imports no UI library.
"""
