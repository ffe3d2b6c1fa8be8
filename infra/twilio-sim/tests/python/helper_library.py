"""Drives the Twilio simulator with Twilio's official Python helper library,
unchanged but for its base URL (`client.api.base_url`). Run by the Rust test
`python_library`, which starts the simulator and a webhook server and reads
the JSON this prints. Any failed expectation raises, exiting non-zero.

Environment: SIM_URL, ACCOUNT_SID, AUTH_TOKEN, HOOKS_URL, AGENT, LEAD, GUEST, FROM.
"""

import json
import os
import time

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

env = os.environ
hooks = env["HOOKS_URL"]
client = Client(env["ACCOUNT_SID"], env["AUTH_TOKEN"])
client.api.base_url = env["SIM_URL"]


def eventually(what, check, timeout=20.0):
    """Polls `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting until " + what)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


report = {}

# Calls: create, fetch, list.
agent = client.calls.create(
    to=env["AGENT"],
    from_=env["FROM"],
    url=hooks + "/voice?mode=agent&room=py-room",
    status_callback=hooks + "/status",
    status_callback_event=["initiated", "ringing", "answered", "completed"],
)
expect(agent.sid.startswith("CA") and len(agent.sid) == 34, "a call SID: " + agent.sid)
expect(agent.status == "queued", "a new call is queued: " + str(agent.status))
expect(agent.direction == "outbound-api", "outbound-api")
eventually("the salesperson answers", lambda: client.calls(agent.sid).fetch().status == "in-progress")
listed = client.calls.list(to=env["AGENT"], limit=20)
expect([c.sid for c in listed] == [agent.sid], "calls listed by To")

# Conferences: list by name and status.
rooms = eventually(
    "the room is in progress",
    lambda: client.conferences.list(friendly_name="py-room", status="in-progress"),
)
room = rooms[0]
expect(room.sid.startswith("CF"), "a conference SID: " + room.sid)
expect(room.friendly_name == "py-room", "the room's name")
report["conference_sid"] = room.sid

# Participants: add, fetch, list, update, remove.
guest = client.conferences(room.sid).participants.create(
    from_=env["FROM"], to=env["GUEST"], label="guest", end_conference_on_exit=False, beep="false"
)
expect(guest.call_sid.startswith("CA") and guest.conference_sid == room.sid, "a participant of the room")
expect(guest.label == "guest", "its label")
eventually(
    "the guest is connected",
    lambda: client.conferences(room.sid).participants(guest.call_sid).fetch().status == "connected",
)
people = client.conferences(room.sid).participants.list()
expect(sorted(p.call_sid for p in people) == sorted([agent.sid, guest.call_sid]), "two participants")
muted = client.conferences(room.sid).participants(guest.call_sid).update(muted=True)
expect(muted.muted is True, "the guest is muted")
expect(client.conferences(room.sid).participants(guest.call_sid).delete() is True, "the guest is removed")
eventually("the guest's call ends", lambda: client.calls(guest.call_sid).fetch().status == "completed")

# A live call update moves a call into the room.
lead = client.calls.create(to=env["LEAD"], from_=env["FROM"], twiml='<Response><Pause length="3600"/></Response>')
eventually("the lead answers", lambda: client.calls(lead.sid).fetch().status == "in-progress")
moved = client.calls(lead.sid).update(twiml="<Response><Dial><Conference>py-room</Conference></Dial></Response>")
expect(moved.sid == lead.sid, "the moved call")
eventually(
    "the lead is in the room",
    lambda: any(p.call_sid == lead.sid for p in client.conferences(room.sid).participants.list()),
)

# Ending the conference pushes everyone out.
ended = client.conferences(room.sid).update(status="completed")
expect(ended.status == "completed", "the room ended: " + str(ended.status))
eventually("the lead's call ends", lambda: client.calls(lead.sid).fetch().status == "completed")
done = client.calls(agent.sid).update(status="completed")
expect(done.status == "completed", "the salesperson's call ended")
report["completed_conferences"] = len(client.conferences.list(status="completed"))
report["calls_listed"] = len(client.calls.list(page_size=1, limit=5))

# Refusals surface as TwilioRestException with Twilio's codes.
try:
    client.calls.create(to="not-a-number", from_=env["FROM"], url=hooks + "/voice")
    raise AssertionError("an invalid number was accepted")
except TwilioRestException as e:
    report["invalid_to"] = {"code": e.code, "status": e.status}
try:
    client.calls("CA" + "0" * 32).fetch()
    raise AssertionError("an unknown call was found")
except TwilioRestException as e:
    report["unknown_call"] = {"code": e.code, "status": e.status}

print(json.dumps(report))
