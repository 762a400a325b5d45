"""The history player's messages from the page, as Panel hands them to the server (no browser).

Panel applies the page's writes of the player in batches: when the server is busy, the page's
last report (``value_throttled``, then ``direction`` 0 at the end of its frames) and the
visitor's next move of the slider (``value`` and ``value_throttled``) arrive as one update, in
which the visitor's step has replaced the report. ``player.param.update`` inside
``param.edit_constant`` is that update.
"""

from __future__ import annotations

import param
from test_explorer_session import make, settle


def page_writes(player, **values) -> None:
    """The page's writes of the player's properties, applied in one batch as Panel does."""
    with param.edit_constant(player):
        player.param.update(**values)


def test_a_rewind_batched_with_the_pages_end_stays_rewound(services):
    """The page played to its end and the visitor pressed ← before the server heard of the end:
    the server pauses where the visitor is and never starts the page's clock again."""
    app = make(services, budget=60)
    settle(app)
    s, r, player = app.session, app.runner, app.controls.history
    last = s.n_steps - 1
    r.play()
    assert s.animate and player.direction == 1
    page_writes(player, value_throttled=last - 3)  # a report while it plays
    page_writes(player, value=last - 1, value_throttled=last - 1, direction=0)
    assert s.step == last - 1 and not s.playing and not s.animate
    for _ in range(5):
        r.tick(0.1)
    assert player.direction == 0 and s.step == last - 1 and not s.animate
    r.step()  # the server goes on from the visitor's step
    assert s.step == last and app.views.timeline.shown.data["step"] == [last]
    app.stop()


def test_a_rewind_to_the_step_the_server_last_sent_is_heard(services):
    """The visitor's step equals the player's value the server last set (the page played on
    since without a message): the write still tells the server the visitor took over."""
    app = make(services, budget=60)
    settle(app)
    s, r, player = app.session, app.runner, app.controls.history
    r.seek(4)
    r.play()
    assert player.value == 4 and s.animate  # the page plays from 4 without a message
    page_writes(player, value_throttled=9)
    page_writes(player, value=4, value_throttled=4, direction=0)  # its end, then back to 4
    assert s.step == 4 and not s.playing and not s.animate
    r.tick(0.1)
    assert player.direction == 0
    app.stop()


def test_the_pages_end_is_not_answered_with_play(services):
    """The page's last report and its stop arrive together: the server pauses without first
    telling the page to play on (its answer would start the page's clock again, and a rewind
    key pressed meanwhile would be undone)."""
    app = make(services, budget=60)
    settle(app)
    s, r, player = app.session, app.runner, app.controls.history
    last = s.n_steps - 1
    r.play()
    page_writes(player, value_throttled=last - 3)
    sent = []
    player.param.watch(lambda e: sent.append(e.new), "direction")
    page_writes(player, value_throttled=last, direction=0)
    assert sent == [0] and not s.playing and not s.animate and s.step == last
    app.stop()


def test_a_page_stopped_short_of_the_servers_frames_plays_on(services):
    """The page's clock stopped at the last frame it had while more were on their way: the
    server's next tick starts it again."""
    app = make(services, budget=60)
    settle(app)
    s, r, player = app.session, app.runner, app.controls.history
    r.play()
    page_writes(player, value_throttled=4, direction=0)
    assert s.step == 4 and s.playing and not s.animate
    r.tick(0.1)
    assert s.animate and player.direction == 1 and s.step == 4
    app.stop()


def test_a_move_while_the_page_plays_keeps_playing(services):
    """The visitor drags the slider of a playing page: the page's clock goes on from there."""
    app = make(services, budget=60)
    settle(app)
    s, r, player = app.session, app.runner, app.controls.history
    r.play()
    page_writes(player, value=3, value_throttled=3)
    assert s.step == 3 and s.playing and s.animate and player.direction == 1
    r.tick(0.1)
    assert s.animate and player.direction == 1
    app.stop()


def test_the_servers_own_moves_are_not_the_visitors(services):
    """Seeks and Play from the server write the player's value too: they do not pause."""
    app = make(services, budget=60)
    settle(app)
    s, r, player = app.session, app.runner, app.controls.history
    r.seek(s.n_steps - 1)
    r.play()  # from the end: back to step 0 and play (value and direction in one update)
    assert s.step == 0 and player.value == 0 and s.playing and player.direction == 1
    app.stop()


def test_the_page_clock_and_the_shown_step_are_sent_again_once_the_page_has_loaded(services):
    """A link's speed may be applied after the page's HTML was made and before the page
    connected (Panel's location sync): what the page loads with is sent again."""
    app = make(services, budget=60)
    settle(app)
    timeline = app.views.timeline
    app.session.speed = 60
    sent = []
    for source in (timeline.clock, timeline.shown):
        source.on_change("data", lambda attr, old, new: sent.append(dict(new)))
    app.views.resend()
    assert {"interval": [17], "loop": [0]} in sent
    assert any(d.get("step") == [app.session.step] for d in sent)
    app.stop()
