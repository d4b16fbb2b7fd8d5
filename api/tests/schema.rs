//! `schema.graphql` is generated from the code: this test fails when the committed file
//! drifts from it, and when the schema no longer holds the whole contract
//! (`api/contract.graphql`, a copy of the design's contract).
//!
//! To regenerate after an intended change: `cargo run -p mati-api -- schema > schema.graphql`.

use mati_api::graphql::{contract, sdl};

const COMMITTED: &str = include_str!("../../schema.graphql");
const CONTRACT: &str = include_str!("../contract.graphql");

#[test]
fn the_committed_schema_matches_the_code() {
    assert!(
        COMMITTED == sdl(),
        "schema.graphql is out of date: run `cargo run -p mati-api -- schema > schema.graphql`"
    );
}

#[test]
fn the_schema_holds_the_whole_contract() {
    let problems = contract::violations(CONTRACT, &sdl());
    assert_eq!(problems, Ok(vec![]), "the schema breaks the contract");
}
