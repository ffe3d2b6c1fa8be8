//! The store conformance suite. (Filled in by the store work.)
