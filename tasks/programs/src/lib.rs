//! The example Gravity task programs, compiled to Wasm (`wasm32v1-none`) by `build.rs` from
//! `tasks/render`, `tasks/wordcount` (map and reduce) and `tasks/cpubench`:
//! [`RENDER`], [`WORDCOUNT_MAP`], [`WORDCOUNT_REDUCE`], [`CPUBENCH`].

include!(concat!(env!("OUT_DIR"), "/programs.rs"));
