//! A call in a conference room. A salesperson's line (a model phone that
//! stays, or a participant that ends the conference on exit) stays until
//! the API ends or moves the call or the room ends; anyone else is a lead,
//! who talks for a drawn time and hangs up. Leaving the room (or being
//! pushed out when it ends) is reported to the room, which owes callbacks.

use serde_json::json;

use crate::config::Phone;
use crate::courier;
use crate::player::{Player, Stop, Waited};
use crate::room::Leaving;
use crate::twiml::Conference;

impl Player {
    /// Joins `room` and stays until something ends the stay. `Ok` when the
    /// call was pushed out (its TwiML goes on after the `<Dial>`); the stop
    /// otherwise, having left the room.
    pub(crate) async fn in_room(&mut self, room: Conference) -> Result<Waited, Stop> {
        if room.name.trim().is_empty() {
            self.note("dialed", json!({"room": "", "status": "failed"}));
            return Ok(Waited::Kicked);
        }
        let kicks = self.kicks();
        let now = self.now();
        let (room_sid, others, sends) = self.state.join_room(&self.sid, &self.req.to, &room, now);
        let mut note = self.ledger_note();
        note.room = Some(room.name.clone());
        self.state.ledger().record(
            note,
            "joined-room",
            json!({"room_sid": room_sid, "with": others, "end_on_exit": room.end_on_exit, "muted": room.muted}),
        );
        courier::dispatch(&self.state, sends).await;
        let stays = room.end_on_exit || matches!(self.phone, Some(Phone::Stays | Phone::HangsUpAfter(_)));
        let talk = if stays { None } else { Some(f64::from(self.timing.talk(self.state.config()))) };
        let outcome = self.wait_for(talk, Some(kicks)).await;
        let why = match &outcome {
            Ok(Waited::Kicked) => "pushed out",
            Ok(Waited::Elapsed) | Err(Stop::Party) => "hung up",
            Err(Stop::Api) => "call ended",
            Err(Stop::Moved(_)) => "moved",
        };
        if outcome != Ok(Waited::Kicked) {
            let sends = self.state.leave_room(&self.sid, Leaving::Left, self.now());
            courier::dispatch(&self.state, sends).await;
        }
        let mut note = self.ledger_note();
        note.room = Some(room.name.clone());
        self.state.ledger().record(note, "left-room", json!({"room_sid": room_sid, "why": why}));
        match outcome {
            Ok(Waited::Elapsed) => Err(Stop::Party),
            other => other,
        }
    }
}
