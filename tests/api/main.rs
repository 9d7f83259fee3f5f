//! The one integration-test binary. Every test spawns the real app against its own database.

mod accounts;
mod admin;
mod api_tokens;
mod best_time;
mod catalog;
mod catalog_sync;
mod cli;
mod connections;
mod csv_import;
mod dashboards;
mod fb_li_metrics;
mod fuzz_smoke;
mod gemini;
mod health;
mod ig_pin_metrics;
mod media;
mod metrics;
mod oauth;
mod pages;
mod posts;
mod products;
mod publishing;
mod rate_limits;
mod security;
mod sessions;
mod ssrf;
mod studio;
mod stylesheet;
mod tt_yt_metrics;
mod webhooks;
mod x_metrics;

mod helpers;
