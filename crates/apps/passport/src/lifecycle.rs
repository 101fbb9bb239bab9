//! The battery's lifecycle, written out as one table.
//!
//! `original` → `re-used` / `repurposed` / `remanufactured` → `waste`, and recycling ends the
//! passport (Art. 77(8): it ceases to exist once the battery is recycled). A battery prepared
//! for re-use or repurposing, repurposed or remanufactured gets a new passport linked to the
//! previous one, under the operator that places it on the market again (Art. 77(7)); the old
//! passport stays readable and says by which it was superseded. A second-life battery may
//! get a further life (a repurposed battery can be remanufactured); waste can only be recycled.

use thiserror::Error;

use crate::model::BatteryState;

/// What happens to a battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifecycleEvent {
    /// Prepared for re-use and placed on the market again for the original purpose.
    ReUse,
    /// Repurposed for another use (an EV pack as stationary storage).
    Repurpose,
    Remanufacture,
    /// Became waste (discarded, or collected at the end of its life).
    Discard,
    /// Recycled: the passport ends.
    Recycle,
}

impl LifecycleEvent {
    pub const ALL: [LifecycleEvent; 5] = [
        LifecycleEvent::ReUse,
        LifecycleEvent::Repurpose,
        LifecycleEvent::Remanufacture,
        LifecycleEvent::Discard,
        LifecycleEvent::Recycle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleEvent::ReUse => "re-use",
            LifecycleEvent::Repurpose => "repurpose",
            LifecycleEvent::Remanufacture => "remanufacture",
            LifecycleEvent::Discard => "discard",
            LifecycleEvent::Recycle => "recycle",
        }
    }
}

/// What a legal event does to the passport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new passport with this battery state, linked to the current one, which is
    /// superseded.
    Successor(BatteryState),
    /// The same passport, in this state.
    SameState(BatteryState),
    /// The passport ends.
    End,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifecycleError {
    #[error("a battery in state {from} cannot {event}")]
    Illegal {
        from: &'static str,
        event: &'static str,
    },
    #[error("the passport has ended (the battery was recycled) and can no longer change")]
    Ended,
    #[error("the passport was superseded by {successor}; record events on that one")]
    Superseded { successor: String },
}

/// The transition table.
pub fn transition(from: BatteryState, event: LifecycleEvent) -> Result<Outcome, LifecycleError> {
    use BatteryState as S;
    use LifecycleEvent as E;
    match (from, event) {
        (S::Waste, E::Recycle) => Ok(Outcome::End),
        (S::Waste, _) | (_, E::Recycle) => Err(illegal(from, event)),
        (_, E::Discard) => Ok(Outcome::SameState(S::Waste)),
        (S::Original | S::ReUsed, E::ReUse) => Ok(Outcome::Successor(S::ReUsed)),
        (S::Repurposed | S::Remanufactured, E::ReUse) => Err(illegal(from, event)),
        (_, E::Repurpose) => Ok(Outcome::Successor(S::Repurposed)),
        (_, E::Remanufacture) => Ok(Outcome::Successor(S::Remanufactured)),
    }
}

fn illegal(from: BatteryState, event: LifecycleEvent) -> LifecycleError {
    LifecycleError::Illegal {
        from: from.as_str(),
        event: event.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BatteryState as S;
    use LifecycleEvent as E;

    #[test]
    fn the_whole_table() {
        let mut lines = Vec::new();
        for from in S::ALL {
            for event in E::ALL {
                let outcome = match transition(from, event) {
                    Ok(Outcome::Successor(to)) => format!("new passport, {}", to.as_str()),
                    Ok(Outcome::SameState(to)) => to.as_str().to_owned(),
                    Ok(Outcome::End) => "ends".to_owned(),
                    Err(_) => "refused".to_owned(),
                };
                lines.push(format!(
                    "{:>14} {:>13} -> {outcome}",
                    from.as_str(),
                    event.as_str()
                ));
            }
        }
        let expected = "\
      original        re-use -> new passport, re-used
      original     repurpose -> new passport, repurposed
      original remanufacture -> new passport, remanufactured
      original       discard -> waste
      original       recycle -> refused
    repurposed        re-use -> refused
    repurposed     repurpose -> new passport, repurposed
    repurposed remanufacture -> new passport, remanufactured
    repurposed       discard -> waste
    repurposed       recycle -> refused
       re-used        re-use -> new passport, re-used
       re-used     repurpose -> new passport, repurposed
       re-used remanufacture -> new passport, remanufactured
       re-used       discard -> waste
       re-used       recycle -> refused
remanufactured        re-use -> refused
remanufactured     repurpose -> new passport, repurposed
remanufactured remanufacture -> new passport, remanufactured
remanufactured       discard -> waste
remanufactured       recycle -> refused
         waste        re-use -> refused
         waste     repurpose -> refused
         waste remanufacture -> refused
         waste       discard -> refused
         waste       recycle -> ends";
        // Compared line by line without the alignment, which the string continuation eats.
        let got: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
        let want: Vec<&str> = expected.lines().map(str::trim).collect();
        assert_eq!(got, want);
    }
}
