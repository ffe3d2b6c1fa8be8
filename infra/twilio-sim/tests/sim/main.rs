//! End-to-end tests of the simulator: it runs on port 0, our client
//! (`TwilioClient`) talks to it, and a small webhook server stands in for
//! the dialer's Twilio endpoints, checking every signature.

mod callflow;
mod conferences;
mod faults;
mod options;
mod python_library;
mod realism;
mod replay;
mod rest_api;
mod webhooks;

use std::time::Duration;

use ibrat_ports::{CreateCall, Telephony};
use ibrat_twilio::TwilioClient;
use twilio_sim::{SimConfig, Simulator};
use webhooks::Webhooks;

/// A test's simulator, webhook server and client.
pub struct Harness {
    pub sim: Simulator,
    pub hooks: Webhooks,
    pub client: TwilioClient,
}

/// A config with no waiting, adjusted by `f`.
pub fn config(f: impl FnOnce(&mut SimConfig)) -> SimConfig {
    let mut c = SimConfig { time_scale: 0.0, seed: 5, ..SimConfig::default() };
    f(&mut c);
    c
}

/// A config where every call ends as `outcome` decides: rates are all zero
/// but the ones `f` sets.
pub fn only(f: impl FnOnce(&mut SimConfig)) -> SimConfig {
    config(|c| {
        c.answer_rate = 0.0;
        c.machine_rate = 0.0;
        c.busy_rate = 0.0;
        c.failed_rate = 0.0;
        c.salesperson_answer_rate = 1.0;
        f(c);
    })
}

impl Harness {
    /// Starts everything.
    pub async fn start(config: SimConfig) -> Harness {
        let token = config.auth_token.clone();
        let sim =
            Simulator::start("127.0.0.1:0".parse().expect("loopback address"), config).await.expect("simulator starts");
        let hooks = Webhooks::start(&token).await.expect("webhook server starts");
        let client = TwilioClient::with_base_url(sim.account_sid(), token, sim.base_url()).expect("client builds");
        Harness { sim, hooks, client }
    }

    /// A call to `to` whose voice URL answers in `mode`; `hold` parks a stage.
    pub fn request(&self, to: &str, mode: &str, hold: Option<&str>) -> CreateCall {
        let hold = hold.map(|h| format!("&hold={h}")).unwrap_or_default();
        CreateCall {
            to: to.into(),
            from: "+998712000000".into(),
            url: self.hooks.url(&format!("/voice?mode={mode}{hold}")),
            status_callback: self.hooks.url(&format!("/status?mode={mode}{hold}")),
            timeout_secs: 30,
            machine_detection: true,
        }
    }

    /// Places a call through our client; its SID.
    pub async fn client_create(&self, req: &CreateCall) -> String {
        self.client.create_call(req).await.expect("call placed").sid
    }

    /// Waits for every call to finish, then checks no signature failed.
    pub async fn settle(&self) {
        assert!(self.sim.wait_idle(Duration::from_secs(30)).await, "calls still playing");
        assert_eq!(self.hooks.bad_signatures(), 0, "every webhook request must be signed");
    }
}
