"""The words the page (and the browser) use for a conversation's steps: one source."""
from datetime import datetime

# What follows the writer's name: (said of "You", said of the partner).
ENTRY_LABELS = {
    "answer": ("answered", "answered"),
    "not_ready": ("are not ready yet. That is a full answer.",
                  "is not ready yet. That is a full answer."),
    "counsellor": ("would like to talk about this with your counsellor. That is a full answer.",
                   "would like to talk about this with your counsellor. That is a full answer."),
    "heard": ("heard", "heard"),
    "confirmed": ("confirmed: \u201cyes, that's it.\u201d",
                  "confirmed: \u201cyes, that's it.\u201d"),
    "added": ("added what was missed", "added what was missed"),
}
ROUND_STATUS_LABELS = {
    "asked": "Waiting for an answer, whenever they are ready",
    "answered": "Waiting to be heard back",
    "checking": "Waiting for \u201cyes, that's it\u201d or what was missed",
    "heard": "Heard",
    "set_aside": "Set aside, respectfully",
    "withdrawn": "Withdrawn",
}


def break_words(pause: dict | None) -> str:
    """"until Wednesday 2 December, 19:00 (Europe/London)": the time chosen, never a countdown."""
    if not pause:
        return ""
    try:
        at = datetime.fromisoformat(pause["until"])
    except (ValueError, KeyError, TypeError):
        return ""
    day = f"{at.strftime('%A')} {at.day} {at.strftime('%B')}"
    return f"{day}, {at.strftime('%H:%M')} ({pause['tz']})"
