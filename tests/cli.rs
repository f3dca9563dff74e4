//! The `intercoop` command as a person runs it: config errors, init, migrate,
//! admin commands, a busy port, and a real `serve` that prints its setup link
//! and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn intercoop(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_intercoop"));
    c.current_dir(dir);
    // Only what each test sets.
    for (k, _) in std::env::vars() {
        if k.starts_with("INTERCOOP_") {
            c.env_remove(k);
        }
    }
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn bad_configuration_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(intercoop(dir.path())
        .arg("serve")
        .env("INTERCOOP_BASE_URL", "http://coop.example"));
    assert_eq!(code, 1);
    assert!(err.contains("base_url") && err.contains("https"), "{err}");
    assert!(!err.contains("panicked"));

    std::fs::write(dir.path().join("intercoop.toml"), "listen = \"nowhere\"\n").unwrap();
    let (code, _, err) = run(intercoop(dir.path()).arg("migrate"));
    assert_eq!(code, 1);
    assert!(
        err.contains("`listen`") && err.contains("nowhere") && err.contains("expected"),
        "{err}"
    );

    let (code, _, err) = run(intercoop(dir.path()).args(["--config", "missing.toml", "serve"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("missing.toml") && err.contains("intercoop init"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created when the config is bad"
    );
}

#[test]
fn init_writes_a_config_that_loads_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(intercoop(dir.path()).arg("init"));
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(dir.path().join("intercoop.toml")).unwrap();
    assert!(text.contains("# database_url = \"sqlite://./data/intercoop.db\""));
    let (code, _, err) = run(intercoop(dir.path()).arg("init"));
    assert_eq!(code, 1);
    assert!(err.contains("--force"), "{err}");
    // The written file is valid: migrate runs with it.
    let (code, out, err) = run(intercoop(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("up to date"), "{out}");
    assert!(dir.path().join("data/intercoop.db").exists());
}

#[test]
fn admin_commands_manage_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) =
        run(intercoop(dir.path()).args(["admin", "create-user", "--username", "Carol", "--role", "editor"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Created carol (editor)"), "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("a generated password");
    assert_eq!(password.len(), 20);

    let (code, _, err) = run(intercoop(dir.path()).args(["admin", "create-user", "--username", "carol"]));
    assert_eq!(code, 1);
    assert!(err.contains("taken"), "{err}");
    let (code, _, err) =
        run(intercoop(dir.path()).args(["admin", "create-user", "--username", "dan", "--role", "boss"]));
    assert_eq!(code, 1);
    assert!(err.contains("admin, moderator, editor or member"), "{err}");
    let (code, _, err) = run(intercoop(dir.path())
        .args(["admin", "create-user", "--username", "dan"])
        .env("INTERCOOP_ADMIN_PASSWORD", "short"));
    assert_eq!(code, 1);
    assert!(err.contains("at least 10"), "{err}");

    let (code, out, _) = run(intercoop(dir.path()).args(["admin", "list-users"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("carol") && out.contains("editor") && !out.contains("dan"),
        "{out}"
    );

    let (code, out, _) =
        run(intercoop(dir.path()).args(["admin", "create-token", "--username", "carol", "--name", "cli"]));
    assert_eq!(code, 0);
    assert!(out.trim().starts_with("icp_"), "{out}");
    let secret = out.trim().to_string();

    // Tokens are listed without their secrets, and revoked by id.
    let (code, out, _) = run(intercoop(dir.path()).args(["admin", "list-tokens"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("carol") && out.contains("cli") && out.contains("never"),
        "{out}"
    );
    assert!(!out.contains(&secret), "the secret is never shown again");
    let id = out
        .lines()
        .find(|l| l.contains("carol"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let (code, out, _) = run(intercoop(dir.path()).args(["admin", "revoke-token", &id]));
    assert_eq!(code, 0);
    assert!(out.contains("Revoked token") && out.contains("carol"), "{out}");
    let (_, out, _) = run(intercoop(dir.path()).args(["admin", "list-tokens", "--username", "carol"]));
    assert!(
        !out.contains("cli"),
        "revoked tokens are gone from the list: {out}"
    );
    let (code, _, err) = run(intercoop(dir.path()).args(["admin", "revoke-token", &id]));
    assert_eq!(code, 1);
    assert!(err.contains("list-tokens"), "{err}");

    let (code, out, _) = run(intercoop(dir.path()).args(["admin", "reset-password", "--username", "carol"]));
    assert_eq!(code, 0);
    assert!(out.contains("Password: "));
    let (code, _, err) = run(intercoop(dir.path()).args(["admin", "reset-password", "--username", "nobody"]));
    assert_eq!(code, 1);
    assert!(err.contains("list-users"), "{err}");
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(intercoop(dir.path()).arg("--version"));
    assert_eq!(code, 0);
    assert!(out.contains(env!("CARGO_PKG_VERSION")));
    for sub in [
        &["serve", "--help"][..],
        &["admin", "create-user", "--help"],
        &["init", "--help"],
    ] {
        let (code, out, _) = run(intercoop(dir.path()).args(sub));
        assert_eq!(code, 0);
        assert!(out.contains("Usage"), "{out}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_prints_a_setup_link_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = intercoop(dir.path())
        .arg("serve")
        .env("INTERCOOP_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut up = false;
    while started.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(up, "serve opens its port");
    // A second instance on the same port explains the clash.
    let (code, _, err) = run(intercoop(dir.path())
        .arg("serve")
        .env("INTERCOOP_LISTEN", format!("127.0.0.1:{port}")));
    assert_eq!(code, 1);
    assert!(err.contains("Another program uses this port"), "{err}");

    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a clean exit on SIGTERM");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("http://localhost:{port}/setup?token=")),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("LOCAL MODE"), "local mode is announced: {stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}
