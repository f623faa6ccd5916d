//! The base both screens stand on, the agent console ([`crate::console`]) and the supervisor
//! ([`crate::supervise`]): the one key table and the column fitting. The screens import this
//! room; it imports neither of them.

pub mod columns;
pub mod keys;
