//! Best available: which `count` of the available seats an order gets.
//!
//! The candidates are available seats in seat order (the layout's order: a venue lists its
//! best sections first). The pick, first rule that applies:
//! 1. the first run of `count` seats side by side — same section, same row, consecutive
//!    numbers;
//! 2. else, in one row, the `count` seats with the smallest spread of numbers;
//! 3. else the first `count` seats of one section;
//! 4. else the first `count` seats.

/// An available seat, where it is.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Candidate {
    pub seat_no: i32,
    pub section: String,
    #[sqlx(rename = "row_label")]
    pub row: String,
    pub number: i32,
}

impl Candidate {
    fn same_row(&self, other: &Candidate) -> bool {
        self.section == other.section && self.row == other.row
    }
}

/// Indexes into `candidates` (seat order) of the seats to take; empty when there are fewer
/// than `count`.
pub fn best(candidates: &[Candidate], count: usize) -> Vec<usize> {
    if count == 0 || candidates.len() < count {
        return Vec::new();
    }
    // 1. The first run side by side.
    let mut start = 0;
    for i in 0..candidates.len() {
        let joined = i > 0
            && candidates[i].same_row(&candidates[i - 1])
            && candidates[i].number == candidates[i - 1].number + 1;
        if !joined {
            start = i;
        }
        if i + 1 - start == count {
            return (start..=i).collect();
        }
    }
    // 2. The tightest `count` seats of one row.
    let mut tightest: Option<(i32, usize)> = None;
    for i in 0..=candidates.len() - count {
        let (first, last) = (&candidates[i], &candidates[i + count - 1]);
        if first.same_row(last) {
            let spread = last.number - first.number;
            if tightest.is_none_or(|(best, _)| spread < best) {
                tightest = Some((spread, i));
            }
        }
    }
    if let Some((_, i)) = tightest {
        return (i..i + count).collect();
    }
    // 3. One section.
    for i in 0..=candidates.len() - count {
        if candidates[i].section == candidates[i + count - 1].section {
            return (i..i + count).collect();
        }
    }
    // 4. Whatever is first.
    (0..count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seats(spec: &[(&str, &str, &[i32])]) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (section, row, numbers) in spec {
            for n in *numbers {
                out.push(Candidate {
                    seat_no: out.len() as i32 + 1,
                    section: (*section).into(),
                    row: (*row).into(),
                    number: *n,
                });
            }
        }
        out
    }

    fn numbers(c: &[Candidate], picked: &[usize]) -> Vec<(String, String, i32)> {
        picked
            .iter()
            .map(|&i| (c[i].section.clone(), c[i].row.clone(), c[i].number))
            .collect()
    }

    #[test]
    fn the_first_run_side_by_side_wins() {
        let c = seats(&[("A", "1", &[1, 3, 5]), ("A", "2", &[2, 3, 4])]);
        assert_eq!(
            numbers(&c, &best(&c, 2)),
            [("A".into(), "2".into(), 2), ("A".into(), "2".into(), 3)]
        );
        assert_eq!(best(&c, 3), vec![3, 4, 5]);
    }

    #[test]
    fn a_run_does_not_cross_rows_or_sections() {
        // Row 1 ends with 20, row 2 starts with 1: consecutive seat numbers, not neighbours.
        let c = seats(&[("A", "1", &[20]), ("A", "2", &[1]), ("B", "1", &[2])]);
        let picked = best(&c, 2);
        assert_eq!(picked.len(), 2);
        assert!(
            !(c[picked[0]].same_row(&c[picked[1]])
                && c[picked[1]].number == c[picked[0]].number + 1)
        );
    }

    #[test]
    fn without_a_run_the_tightest_row_then_a_section_then_anything() {
        let c = seats(&[("A", "1", &[1, 9]), ("A", "2", &[1, 3]), ("B", "1", &[5])]);
        assert_eq!(
            numbers(&c, &best(&c, 2)),
            [("A".into(), "2".into(), 1), ("A".into(), "2".into(), 3)]
        );
        let c = seats(&[("A", "1", &[1]), ("A", "2", &[5]), ("B", "1", &[1])]);
        assert_eq!(best(&c, 2), vec![0, 1]);
        let c = seats(&[("A", "1", &[1]), ("B", "1", &[5])]);
        assert_eq!(best(&c, 2), vec![0, 1]);
    }

    #[test]
    fn too_few_is_nothing() {
        let c = seats(&[("A", "1", &[1])]);
        assert!(best(&c, 2).is_empty());
        assert!(best(&c, 0).is_empty());
    }
}
