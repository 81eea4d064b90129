//! Regression tests for defects found after release, each named after what broke (issue 10).
//! One file per area.

mod documents;
mod event_time;
mod serve;
