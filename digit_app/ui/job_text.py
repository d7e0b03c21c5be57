"""A job's state and durations in words, as the Train, Models and My drawings pages show them."""


def format_duration(seconds):
    """'45 s', '1 min 05 s', '2 h 03 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_text(snapshot):
    """'Epoch 2 of 5 · batch 40 of 422 · about 1 min 05 s left', or what the job is doing."""
    if snapshot.queued:
        return f"Queued, position {snapshot.queue_position}…" if snapshot.queue_position else "Starting…"
    if not (snapshot.epoch and snapshot.phase == "Training"):
        return f"{snapshot.phase}…"
    text = (f"Epoch {snapshot.epoch} of {snapshot.settings.epochs} · "
            f"batch {snapshot.batch} of {snapshot.batches_per_epoch}")
    if snapshot.seconds_left is not None:
        text += f" · about {format_duration(snapshot.seconds_left)} left"
    return text
