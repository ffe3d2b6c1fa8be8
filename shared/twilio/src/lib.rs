//! Everything the dialer knows about Twilio, kept out of the domain: the REST
//! client behind the `Telephony` port, request signatures for webhooks (used
//! by our handlers to check and by the simulator to sign), and TwiML.

pub mod client;
pub mod error;
pub mod signature;
pub mod twiml;

pub use client::TwilioClient;
pub use error::map_error;
