//! A TCP proxy whose target can be "killed" (every connection dropped, new ones refused),
//! "hung" (connections accepted, never answered) or brought back — so a test can take
//! Redis or booking away from the services without touching the Redis or PostgreSQL the
//! rest of the suite shares.

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How a [`FlakyProxy`] treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Relays to the target.
    Up,
    /// Closes every connection at once and refuses new ones (a killed process).
    Down,
    /// Accepts and never answers (a hung process or a dropped network).
    Blackhole,
}

/// A TCP proxy in front of `target`; switching the mode also cuts every open connection.
pub struct FlakyProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
}

impl FlakyProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, _) = watch::channel(Mode::Up);
        let modes = mode.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut changed = modes.subscribe();
                let current = *changed.borrow_and_update();
                tokio::spawn(async move {
                    let mut client = client;
                    match current {
                        Mode::Down => drop(client),
                        Mode::Blackhole => {
                            let mut sink = [0u8; 1024];
                            loop {
                                tokio::select! {
                                    _ = changed.changed() => break,
                                    n = client.read(&mut sink) => if matches!(n, Ok(0) | Err(_)) { break },
                                }
                            }
                        }
                        Mode::Up => {
                            let Ok(mut upstream) = TcpStream::connect(target).await else {
                                return;
                            };
                            tokio::select! {
                                _ = changed.changed() => {}
                                _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                            }
                        }
                    }
                });
            }
        });
        Self { addr, mode }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}
