//! Picscripter: a self-hosted social media manager for small online shops.
//!
//! One library behind two processes — `picscripter serve` (web) and `picscripter-worker` — plus
//! the platform emulator `picscripter-sandbox`. Module map (see docs/ARCHITECTURE.md):
//!
//! - `ai`: the AI Studio's writers and proofreading (pure Rust) and the Gemini client.
//! - `studio`: the AI Studio's service — provider choice, authenticity pass, allowance.
//! - `config`: typed configuration from the environment, every problem listed at once.
//! - `domain`: rules with no I/O (platforms, accounts, time zones…).
//! - `entities`: SeaORM entities, one per table.
//! - `security`: passwords, CSRF, headers, throttling, client addresses, API tokens, audit log.
//! - `web`: the axum app, one module per area; `error` renders every failure for its audience.
//! - `media`: the media library — streaming uploads, probing, thumbnails, storage, signed links.
//! - `jobs` and `worker`: background work under apalis.
//! - `db`, `redis`, `telemetry`, `app`, `cli`: plumbing.

pub mod admin;
pub mod ai;
pub mod analytics;
pub mod app;
pub mod cli;
pub mod config;
pub mod connections;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod jobs;
pub mod media;
pub mod net;
pub mod platforms;
pub mod posts;
pub mod products;
pub mod publishing;
pub mod redis;
pub mod sandbox;
pub mod security;
pub mod state;
pub mod studio;
pub mod telemetry;
pub mod web;
pub mod webhooks;
pub mod worker;
