//! Multi-level bills of materials.
//!
//! Ouranos keeps one level per parts structure (a parent and at most 50 children). A company's
//! own products often nest deeper (electrode → cell → module → pack), so here a bill of
//! materials is any acyclic graph of parent → child lines, each with the amount of the child
//! that one unit of the parent needs.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::company::{Part, TraceId};
use crate::unit::Quantity;

/// One line: one unit of `parent` needs `amount_per_parent` of `child`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BomLine {
    pub parent: TraceId,
    pub child: TraceId,
    pub amount_per_parent: Quantity,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BomError {
    #[error("part {part} is listed as its own child")]
    SelfReference { part: TraceId },
    #[error("part {parent} lists child {child} twice; state one line with the summed amount")]
    DuplicateLine { parent: TraceId, child: TraceId },
    #[error("part {parent} needs {amount} of child {child}; amounts must be greater than zero")]
    NonPositiveAmount {
        parent: TraceId,
        child: TraceId,
        amount: Quantity,
    },
    #[error("child part {child} of {parent} has no amount_required")]
    MissingAmount { parent: TraceId, child: TraceId },
    #[error("the bill of materials has a cycle: {}", format_cycle(.cycle))]
    Cycle {
        /// The parts on the cycle, in order; the first part needs the second, and so on, and
        /// the last needs the first again.
        cycle: Vec<TraceId>,
    },
}

fn format_cycle(cycle: &[TraceId]) -> String {
    let mut text = String::new();
    for part in cycle {
        let _ = write!(text, "{part} → ");
    }
    if let Some(first) = cycle.first() {
        let _ = write!(text, "{first}");
    }
    text
}

/// A validated, acyclic bill of materials. It serializes as the plain list of its lines.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<BomLine>", into = "Vec<BomLine>")]
pub struct BillOfMaterials {
    lines: Vec<BomLine>,
    /// Positions in `lines` of each parent's lines, in the order they were given.
    children: HashMap<TraceId, Vec<usize>>,
}

impl PartialEq for BillOfMaterials {
    fn eq(&self, other: &Self) -> bool {
        self.lines == other.lines
    }
}

impl BillOfMaterials {
    pub fn new(lines: Vec<BomLine>) -> Result<BillOfMaterials, BomError> {
        let mut children: HashMap<TraceId, Vec<usize>> = HashMap::new();
        let mut seen = HashSet::with_capacity(lines.len());
        for (index, line) in lines.iter().enumerate() {
            if line.parent == line.child {
                return Err(BomError::SelfReference { part: line.parent });
            }
            if line.amount_per_parent.value <= Decimal::ZERO {
                return Err(BomError::NonPositiveAmount {
                    parent: line.parent,
                    child: line.child,
                    amount: line.amount_per_parent,
                });
            }
            if !seen.insert((line.parent, line.child)) {
                return Err(BomError::DuplicateLine {
                    parent: line.parent,
                    child: line.child,
                });
            }
            children.entry(line.parent).or_default().push(index);
        }
        let bom = BillOfMaterials { lines, children };
        bom.refuse_cycles()?;
        Ok(bom)
    }

    /// One Ouranos parts structure: the children's `amount_required` per unit of the parent.
    pub fn from_parts_structure(
        parent: &Part,
        children: &[Part],
    ) -> Result<BillOfMaterials, BomError> {
        let lines = children
            .iter()
            .map(|child| {
                let amount = child
                    .amount_required_quantity()
                    .ok_or(BomError::MissingAmount {
                        parent: parent.trace_id,
                        child: child.trace_id,
                    })?;
                Ok(BomLine {
                    parent: parent.trace_id,
                    child: child.trace_id,
                    amount_per_parent: amount,
                })
            })
            .collect::<Result<Vec<_>, BomError>>()?;
        BillOfMaterials::new(lines)
    }

    /// Joins several structures (for example one Ouranos parts structure per level) into one
    /// multi-level bill of materials, checking the whole for duplicates and cycles.
    pub fn combine(
        parts: impl IntoIterator<Item = BillOfMaterials>,
    ) -> Result<BillOfMaterials, BomError> {
        BillOfMaterials::new(parts.into_iter().flat_map(|bom| bom.lines).collect())
    }

    pub fn lines(&self) -> &[BomLine] {
        &self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn has_children(&self, part: &TraceId) -> bool {
        self.children.contains_key(part)
    }

    pub fn children_of<'a>(&'a self, parent: &TraceId) -> impl Iterator<Item = &'a BomLine> + 'a {
        self.children
            .get(parent)
            .into_iter()
            .flatten()
            .map(|index| &self.lines[*index])
    }

    /// `root` and every part below it, each once, children before their parents, so that a
    /// roll-up can visit them in this order and always find a child's footprint ready.
    pub fn children_first_from(&self, root: TraceId) -> Vec<TraceId> {
        if !self.has_children(&root) {
            return vec![root];
        }
        let mut order = Vec::new();
        let mut visited = HashSet::new();
        // (part, whether its children have been pushed already)
        let mut stack = vec![(root, false)];
        while let Some((part, expanded)) = stack.pop() {
            if expanded {
                order.push(part);
                continue;
            }
            if !visited.insert(part) {
                continue;
            }
            stack.push((part, true));
            for line in self.children_of(&part) {
                if !visited.contains(&line.child) {
                    stack.push((line.child, false));
                }
            }
        }
        order
    }

    /// Depth-first search with three colours; a line to a part still on the path closes a
    /// cycle, which is reported from that part round to itself. Iterative, so that deep
    /// synthetic chains cannot overflow the stack.
    fn refuse_cycles(&self) -> Result<(), BomError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Colour {
            OnPath,
            Done,
        }
        let mut colour: HashMap<TraceId, Colour> = HashMap::with_capacity(self.children.len());
        let mut roots: Vec<&TraceId> = self.children.keys().collect();
        // Deterministic error messages: start from the smallest trace id.
        roots.sort();
        for root in roots {
            if colour.contains_key(root) {
                continue;
            }
            // The path from `root`, each part with the position of its next line to follow.
            let mut path: Vec<(TraceId, usize)> = vec![(*root, 0)];
            colour.insert(*root, Colour::OnPath);
            while let Some((part, next)) = path.last_mut() {
                let part = *part;
                let lines = self.children.get(&part).map(Vec::as_slice).unwrap_or(&[]);
                let Some(index) = lines.get(*next) else {
                    colour.insert(part, Colour::Done);
                    path.pop();
                    continue;
                };
                *next += 1;
                let child = self.lines[*index].child;
                match colour.get(&child) {
                    Some(Colour::Done) => {}
                    Some(Colour::OnPath) => {
                        let start = path
                            .iter()
                            .position(|(on_path, _)| *on_path == child)
                            .unwrap_or(0);
                        let cycle = path[start..].iter().map(|(p, _)| *p).collect();
                        return Err(BomError::Cycle { cycle });
                    }
                    None => {
                        colour.insert(child, Colour::OnPath);
                        path.push((child, 0));
                    }
                }
            }
        }
        Ok(())
    }
}

impl TryFrom<Vec<BomLine>> for BillOfMaterials {
    type Error = BomError;
    fn try_from(lines: Vec<BomLine>) -> Result<Self, BomError> {
        BillOfMaterials::new(lines)
    }
}

impl From<BillOfMaterials> for Vec<BomLine> {
    fn from(bom: BillOfMaterials) -> Vec<BomLine> {
        bom.lines
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::num::d;
    use crate::unit::Unit;
    use uuid::Uuid;

    pub(crate) fn id(n: u128) -> TraceId {
        TraceId::new(Uuid::from_u128(n))
    }

    pub(crate) fn line(parent: u128, child: u128, amount: &str, unit: Unit) -> BomLine {
        BomLine {
            parent: id(parent),
            child: id(child),
            amount_per_parent: Quantity::new(d(amount), unit),
        }
    }

    #[test]
    fn lists_parts_children_first_at_any_depth() {
        // 1 → 2 → 3 → 4 → 5 and 1 → 3 (a shared sub-part).
        let bom = BillOfMaterials::new(vec![
            line(1, 2, "2", Unit::Piece),
            line(2, 3, "1", Unit::Kilogram),
            line(3, 4, "0.5", Unit::Kilogram),
            line(4, 5, "100", Unit::Gram),
            line(1, 3, "0.1", Unit::Kilogram),
        ])
        .unwrap();
        let order = bom.children_first_from(id(1));
        assert_eq!(order.len(), 5);
        let position = |n| order.iter().position(|p| *p == id(n)).unwrap();
        assert!(position(5) < position(4));
        assert!(position(4) < position(3));
        assert!(position(3) < position(2));
        assert!(position(2) < position(1));
        assert_eq!(bom.children_first_from(id(4)), vec![id(5), id(4)]);
    }

    #[test]
    fn refuses_a_cycle_and_names_it() {
        let err = BillOfMaterials::new(vec![
            line(1, 2, "1", Unit::Piece),
            line(2, 3, "1", Unit::Piece),
            line(3, 4, "1", Unit::Piece),
            line(4, 2, "1", Unit::Piece),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            BomError::Cycle {
                cycle: vec![id(2), id(3), id(4)]
            }
        );
        assert_eq!(
            err.to_string(),
            "the bill of materials has a cycle: 00000000-0000-0000-0000-000000000002 → \
             00000000-0000-0000-0000-000000000003 → 00000000-0000-0000-0000-000000000004 → \
             00000000-0000-0000-0000-000000000002"
        );
    }

    #[test]
    fn refuses_malformed_lines() {
        assert_eq!(
            BillOfMaterials::new(vec![line(1, 1, "1", Unit::Piece)]).unwrap_err(),
            BomError::SelfReference { part: id(1) }
        );
        assert_eq!(
            BillOfMaterials::new(vec![
                line(1, 2, "1", Unit::Piece),
                line(1, 2, "3", Unit::Piece)
            ])
            .unwrap_err(),
            BomError::DuplicateLine {
                parent: id(1),
                child: id(2)
            }
        );
        let err = BillOfMaterials::new(vec![line(1, 2, "0", Unit::Kilogram)]).unwrap_err();
        assert!(matches!(err, BomError::NonPositiveAmount { .. }));
        assert!(err.to_string().contains("needs 0 kg of child"), "{err}");
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let lines = (0..200_000u128)
            .map(|n| line(n, n + 1, "1", Unit::Piece))
            .collect();
        let bom = BillOfMaterials::new(lines).unwrap();
        assert_eq!(bom.children_first_from(id(0)).len(), 200_001);
    }

    #[test]
    fn combines_one_level_structures_and_checks_the_whole() {
        let upper = BillOfMaterials::new(vec![line(1, 2, "1", Unit::Piece)]).unwrap();
        let lower = BillOfMaterials::new(vec![line(2, 3, "1", Unit::Piece)]).unwrap();
        let back = BillOfMaterials::new(vec![line(3, 1, "1", Unit::Piece)]).unwrap();
        let two_levels = BillOfMaterials::combine([upper.clone(), lower.clone()]).unwrap();
        assert_eq!(two_levels.children_first_from(id(1)).len(), 3);
        assert!(matches!(
            BillOfMaterials::combine([upper, lower, back]),
            Err(BomError::Cycle { .. })
        ));
    }

    #[test]
    fn from_an_ouranos_parts_structure() {
        let part = |n: u128, amount: Option<&str>| Part {
            trace_id: id(n),
            operator_id: Uuid::from_u128(9),
            plant_id: Uuid::from_u128(8),
            part_name: format!("part {n}"),
            support_part_name: None,
            label_name: None,
            amount_required: amount.map(d),
            amount_required_unit: Unit::Kilogram,
            terminated_flag: false,
            additional_info: Default::default(),
        };
        let bom = BillOfMaterials::from_parts_structure(
            &part(1, None),
            &[part(2, Some("5")), part(3, Some("0.25"))],
        )
        .unwrap();
        let amounts: Vec<String> = bom
            .children_of(&id(1))
            .map(|line| line.amount_per_parent.to_string())
            .collect();
        assert_eq!(amounts, ["5 kg", "0.25 kg"]);
        assert_eq!(
            BillOfMaterials::from_parts_structure(&part(1, None), &[part(2, None)]).unwrap_err(),
            BomError::MissingAmount {
                parent: id(1),
                child: id(2)
            }
        );
    }

    #[test]
    fn serializes_as_its_lines_and_validates_when_read() {
        let bom = BillOfMaterials::new(vec![line(1, 2, "1.5", Unit::Kilogram)]).unwrap();
        let json = serde_json::to_string(&bom).unwrap();
        assert_eq!(serde_json::from_str::<BillOfMaterials>(&json).unwrap(), bom);
        let cyclic = serde_json::to_string(&vec![
            line(1, 2, "1", Unit::Piece),
            line(2, 1, "1", Unit::Piece),
        ])
        .unwrap();
        let err = serde_json::from_str::<BillOfMaterials>(&cyclic).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
    }
}
