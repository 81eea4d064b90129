//! Regression tests for defects found after release, each named after what broke (issue 10).
//! One file per area.

mod capture_speed;
mod documents;
mod event_time;
mod gs1_parse;
mod serve;
