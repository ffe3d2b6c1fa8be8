//! The built `ibrat` binary answers bad input with one plain sentence on
//! stderr and a non-zero exit: no panic, no backtrace, no usage dump.

use std::process::{Command, Output};

fn ibrat(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ibrat"));
    cmd.args(args).env("RUST_BACKTRACE", "1");
    for var in
        ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "IBRAT_ADMIN_EMAIL", "IBRAT_ADMIN_PASSWORD", "IBRAT_JWT_SECRET"]
    {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied());
    cmd.output().expect("the binary runs")
}

/// Checks the failure shape and returns the sentence.
fn one_sentence(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].starts_with("ibrat: "), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn a_missing_import_file_is_one_sentence() {
    let out = ibrat(&["import", "/nonexistent/leads.csv"], &[]);
    let line = one_sentence(&out);
    assert!(line.contains("the file /nonexistent/leads.csv could not be read"), "{line}");
}

#[test]
fn an_unknown_flag_is_one_sentence() {
    let out = ibrat(&["serve", "--bogus"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(one_sentence(&out), "ibrat: unexpected argument '--bogus' found");
}

#[test]
fn a_bad_address_is_one_sentence() {
    let out = ibrat(&["serve", "--addr", "not-an-address"], &[]);
    let line = one_sentence(&out);
    assert!(line.contains("not-an-address"), "{line}");
}

#[test]
fn real_twilio_without_its_token_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = ibrat(&["serve", "--addr", "127.0.0.1:0", "--data-dir", data], &[("TWILIO_ACCOUNT_SID", "AC123")]);
    assert_eq!(
        one_sentence(&out),
        "ibrat: TWILIO_AUTH_TOKEN must be set when TWILIO_ACCOUNT_SID is set (real Twilio needs it)"
    );
}

#[test]
fn a_weak_admin_password_is_one_sentence_and_an_admin_is_created_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let weak = ibrat(&["create-admin", "--email", "a@b.uz", "--password", "short", "--data-dir", data], &[]);
    assert_eq!(one_sentence(&weak), "ibrat: the admin could not be created: password must be at least 10 characters");
    let ok = ibrat(&["create-admin", "--email", "a@b.uz", "--password", "long-enough-1", "--data-dir", data], &[]);
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "Created the admin a@b.uz.");
}
