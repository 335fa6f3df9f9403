//! Starting and stopping the `latchkey` binary.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

pub struct Server {
    pub child: Child,
    pub base: String,
    /// Every line the server has written to stdout so far.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("latchkey.db").display())
}

/// Starts `latchkey serve` on a free port with the database in `dir` and
/// waits for its "listening" log line.
pub fn start(dir: &Path) -> Server {
    start_with_env(dir, &[])
}

/// As [`start`], with extra environment variables.
pub fn start_with_env(dir: &Path, env: &[(&str, &str)]) -> Server {
    start_on(&db_url(dir), env)
}

/// Starts `latchkey serve` on a free port with the store at `database`.
pub fn start_on(database: &str, env: &[(&str, &str)]) -> Server {
    start_with_args(database, &[], env)
}

/// As [`start_on`], with extra arguments to `serve` (`--config FILE`).
pub fn start_with_args(database: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args(args)
        .env_clear()
        .env("LATCHKEY_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start latchkey");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let address = loop {
        let line = lines
            .next()
            .expect("latchkey exited before listening")
            .expect("read stdout");
        logs.lock().unwrap().push(line.clone());
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
        if v["message"] == "latchkey listening" {
            break v["address"].as_str().expect("address").to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Server {
        child,
        base: format!("http://{address}"),
        logs,
    }
}

impl Server {
    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().ok();
        panic!("latchkey did not exit within 5 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a CLI subcommand against the database in `dir`.
pub fn cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    all.push("--database".into());
    all.push(db_url(dir));
    let mut child = Command::new(BIN)
        .args(&all)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latchkey");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        // The process may exit before reading (a usage error): that is fine.
        let _ = input.write_all(s.as_bytes());
    }
    drop(input);
    child.wait_with_output().expect("wait")
}

pub fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    (dir, path)
}

/// A logged-in session: cookie value and CSRF token.
pub struct Login {
    pub cookie: String,
    pub csrf: String,
}

pub async fn register(http: &reqwest::Client, base: &str, name: &str, pw: &str) {
    let res = http
        .post(format!("{base}/v1/register"))
        .json(&serde_json::json!({"username": name, "password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

pub async fn login(http: &reqwest::Client, base: &str, name: &str, pw: &str) -> Login {
    let res = http
        .post(format!("{base}/v1/session/login"))
        .json(&serde_json::json!({"username": name, "password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set
        .strip_prefix("__Host-lk_session=")
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_owned();
    let body: serde_json::Value = res.json().await.unwrap();
    Login {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

pub async fn session_status(http: &reqwest::Client, base: &str, cookie: &str) -> u16 {
    http.get(format!("{base}/v1/session"))
        .header("cookie", format!("__Host-lk_session={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub async fn logout(http: &reqwest::Client, base: &str, l: &Login) {
    let res = http
        .post(format!("{base}/v1/session/logout"))
        .header("cookie", format!("__Host-lk_session={}", l.cookie))
        .header("x-csrf-token", &l.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}
