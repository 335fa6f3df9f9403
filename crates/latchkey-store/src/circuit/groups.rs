//! Group calls through [`Circuit::call`].

use latchkey_core::UserId;

use super::Circuit;
use crate::Result;
use crate::groups::Groups;

delegate! {
    impl[] Groups for Circuit, via call {
        pass {
            fn add_to_group(&self, user: UserId, group: &str) -> Result<bool>;
            fn remove_from_group(&self, user: UserId, group: &str) -> Result<bool>;
            fn groups_of(&self, user: UserId) -> Result<Vec<String>>;
        }
    }
}
