"""What a decision does outside: webhooks and local commands, sent by a retrying dispatcher."""

from facegate.actions.outputs import (
    CommandOutput,
    Dispatcher,
    Output,
    OutputError,
    OutputResult,
    WebhookOutput,
)

__all__ = [
    "CommandOutput",
    "Dispatcher",
    "Output",
    "OutputError",
    "OutputResult",
    "WebhookOutput",
]
