//! The fold on its own: rules checked and changes applied in memory.

use super::*;

const ITEM: &str = "010036141412345821S1";
const ITEM2: &str = "010036141412345821S2";
const CASE: &str = "00103614140000000015";
const PALLET: &str = "00103614140000000022";

fn fold_with_ids() -> Fold {
    let mut f = Fold::default();
    f.add_ids((1..=100).rev());
    f
}

fn values(f: &mut Fold, event_id: i64, status: Option<SerialStatus>, lot: Option<&str>) -> Values {
    Values {
        event_id,
        event_time: Utc::now(),
        status,
        lot: f.names.intern(lot),
        expiry: None,
        disposition: None,
        owner: None,
        location: None,
    }
}

#[test]
fn a_serial_is_small() {
    // What bounds the fold's memory: keep it at most 80 bytes.
    assert!(
        std::mem::size_of::<Serial>() <= 80,
        "{}",
        std::mem::size_of::<Serial>()
    );
}

#[test]
fn a_rebuild_keeps_stored_ids_and_removes_what_no_event_makes_present() {
    // No reserved ids: a stored serial made absent must come back with its own id.
    let mut f = Fold::default();
    for (key, id) in [(ITEM, 7), (ITEM2, 8), (CASE, 9)] {
        let s = Serial {
            id,
            stored: true,
            dirty: true,
            ..Serial::absent(kind_of_key(key))
        };
        f.insert(key, s, None);
    }
    let v = values(&mut f, 1, None, Some("L1"));
    f.apply(&Change::Commission(&[ITEM, CASE]), &v);
    let v = values(&mut f, 2, None, None);
    f.apply(
        &Change::Pack {
            parent: CASE,
            children: &[ITEM],
        },
        &v,
    );
    assert_eq!(f.children_of(CASE), vec![Box::<str>::from(ITEM)]);
    let v = values(&mut f, 3, Some(SerialStatus::Destroyed), None);
    f.apply(&Change::Transition(&[CASE]), &v);
    f.cascade_terminal(&[CASE], &v);
    let item = *f.get(ITEM).unwrap();
    assert_eq!(
        (item.id, item.stored, item.status),
        (7, true, Some(SerialStatus::Destroyed))
    );
    assert_eq!(f.remove_absent(), vec![8]);
    assert!(!f.contains(ITEM2));
}

#[test]
fn a_second_commissioning_is_a_duplicate_and_a_different_lot_rejects() {
    let mut f = fold_with_ids();
    let v = values(&mut f, 1, None, Some("L1"));
    let change = Change::Commission(&[ITEM]);
    assert!(f.check(&change, &v).is_empty());
    assert_eq!(f.apply(&change, &v), (1, 0));
    let v2 = values(&mut f, 2, None, Some("L2"));
    let kinds: Vec<_> = f.check(&change, &v2).iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::Duplicate, ProblemKind::LotMismatch]);
    let v3 = values(&mut f, 3, None, Some("L1"));
    f.apply(&change, &v3);
    let s = f.get(ITEM).unwrap();
    assert!(s.duplicate && s.commission_count == 2 && s.last_event_id == id(1));
}

#[test]
fn contents_inherit_the_newer_state_of_their_outermost_container() {
    let mut f = fold_with_ids();
    let v = values(&mut f, 1, None, None);
    f.apply(&Change::Commission(&[ITEM, ITEM2, CASE, PALLET]), &v);
    let v = values(&mut f, 2, None, None);
    f.apply(
        &Change::Pack {
            parent: CASE,
            children: &[ITEM, ITEM2],
        },
        &v,
    );
    let v = values(&mut f, 3, None, None);
    f.apply(
        &Change::Pack {
            parent: PALLET,
            children: &[CASE],
        },
        &v,
    );
    // The case's packing is newer than the items': they see "packed" either way.
    assert_eq!(
        f.effective(ITEM).unwrap().status,
        Some(SerialStatus::Packed)
    );
    let v = values(&mut f, 4, Some(SerialStatus::Shipped), None);
    f.apply(&Change::Transition(&[PALLET]), &v);
    assert_eq!(
        f.get(ITEM).unwrap().status,
        Some(SerialStatus::Packed),
        "not rewritten"
    );
    assert_eq!(
        f.effective(ITEM).unwrap().status,
        Some(SerialStatus::Shipped),
        "inherited from the pallet"
    );
    // Packing an item that is inside the case into another case is refused.
    let v = values(&mut f, 5, None, None);
    let found = f.check(
        &Change::Pack {
            parent: PALLET,
            children: &[ITEM],
        },
        &v,
    );
    assert_eq!(found[0].kind, ProblemKind::OtherParent);
    assert_eq!(found[0].detail.as_deref(), Some(CASE));
    // Unpacked, the item keeps what it inherited.
    f.apply(&Change::Unpack { children: &[ITEM] }, &v);
    let s = f.get(ITEM).unwrap();
    assert_eq!((s.status, s.parent_id), (Some(SerialStatus::Shipped), None));
}

#[test]
fn unknown_serials_become_placeholders_that_commissioning_completes() {
    let mut f = fold_with_ids();
    f.insert(ITEM, Serial::absent(SerialKind::Sgtin), None);
    let v = values(&mut f, 1, Some(SerialStatus::Shipped), None);
    let found = f.check(&Change::Transition(&[ITEM]), &v);
    assert_eq!(found[0].kind, ProblemKind::Unknown);
    assert_eq!(f.apply(&Change::Transition(&[ITEM]), &v), (1, 0));
    assert_eq!(f.get(ITEM).unwrap().status, Some(SerialStatus::Unknown));
    let v = values(&mut f, 2, None, Some("L"));
    assert!(f.check(&Change::Commission(&[ITEM]), &v).is_empty());
    assert_eq!(f.apply(&Change::Commission(&[ITEM]), &v), (0, 1));
    assert_eq!(
        f.get(ITEM).unwrap().status,
        Some(SerialStatus::Commissioned)
    );
}

#[test]
fn decommissioned_serials_cannot_move_and_transformation_consumes_inputs() {
    let mut f = fold_with_ids();
    let v = values(&mut f, 1, None, None);
    f.apply(&Change::Commission(&[ITEM]), &v);
    let v = values(&mut f, 2, None, Some("NEW"));
    let t = Change::Transform {
        inputs: &[ITEM],
        outputs: &[ITEM2],
    };
    assert!(f.check(&t, &v).is_empty());
    f.apply(&t, &v);
    assert_eq!(
        f.get(ITEM).unwrap().status,
        Some(SerialStatus::Decommissioned)
    );
    assert_eq!(
        f.get(ITEM2).unwrap().status,
        Some(SerialStatus::Commissioned)
    );
    let v = values(&mut f, 3, Some(SerialStatus::Shipped), None);
    let found = f.check(&Change::Transition(&[ITEM]), &v);
    assert_eq!(found[0].kind, ProblemKind::OutOfCirculation);
    assert!(found[0].kind.rejects());
}

#[test]
fn taking_the_dirty_rows_marks_them_written() {
    let mut f = fold_with_ids();
    let v = values(&mut f, 1, None, None);
    f.apply(&Change::Commission(&[ITEM, ITEM2]), &v);
    assert_eq!(f.drain_dirty(1, |_, _, _| {}), 1);
    assert_eq!(f.drain_dirty(5, |_, _, _| {}), 1);
    assert_eq!(f.drain_dirty(5, |_, _, _| {}), 0);
    assert!(f.get(ITEM).unwrap().stored);
}

#[test]
fn a_terminal_status_reaches_every_level_the_fold_holds_and_counts_what_it_changed() {
    let mut f = fold_with_ids();
    let v = values(&mut f, 1, None, None);
    f.apply(&Change::Commission(&[ITEM, ITEM2, CASE, PALLET]), &v);
    let v = values(&mut f, 2, None, None);
    let pack_case = Change::Pack {
        parent: CASE,
        children: &[ITEM, ITEM2],
    };
    f.apply(&pack_case, &v);
    let v = values(&mut f, 3, None, None);
    let pack_pallet = Change::Pack {
        parent: PALLET,
        children: &[CASE],
    };
    f.apply(&pack_pallet, &v);
    // One item already destroyed keeps its own event.
    let v = values(&mut f, 4, Some(SerialStatus::Destroyed), None);
    f.apply(&Change::Transition(&[ITEM2]), &v);
    let v = values(&mut f, 5, Some(SerialStatus::Dispensed), None);
    f.apply(&Change::Transition(&[PALLET]), &v);
    assert_eq!(
        f.cascade_terminal(&[PALLET], &v),
        2,
        "the case and one item"
    );
    let status = |f: &Fold, k| f.get(k).unwrap().status;
    assert_eq!(status(&f, CASE), Some(SerialStatus::Dispensed));
    assert_eq!(status(&f, ITEM), Some(SerialStatus::Dispensed));
    assert_eq!(status(&f, ITEM2), Some(SerialStatus::Destroyed));
    assert_eq!(f.get(ITEM).unwrap().last_event_id, id(5));
    assert_eq!(f.get(ITEM2).unwrap().last_event_id, id(4));
    // A status that is not terminal, or a serial that contains nothing, changes nothing.
    let v = values(&mut f, 6, Some(SerialStatus::Shipped), None);
    assert_eq!(f.cascade_terminal(&[PALLET], &v), 0);
    let v = values(&mut f, 7, Some(SerialStatus::Destroyed), None);
    assert_eq!(f.cascade_terminal(&[ITEM], &v), 0);
}

#[test]
fn the_contents_of_a_container_are_what_the_fold_holds_inside_it_now() {
    // Stored rows inside the case (as the capture loads them for a DELETE without
    // children), then one taken out and another packed in memory.
    let mut f = fold_with_ids();
    let stored = |id, parent_id| Serial {
        id,
        stored: true,
        status: Some(SerialStatus::Packed),
        parent_id,
        ..Serial::absent(SerialKind::Sgtin)
    };
    f.insert(
        CASE,
        Serial {
            status: Some(SerialStatus::Commissioned),
            ..stored(500, None)
        },
        None,
    );
    f.insert(ITEM, stored(501, id(500)), Some(CASE));
    f.insert(ITEM2, stored(502, id(500)), Some(CASE));
    assert_eq!(f.children_of(CASE).len(), 2);
    let v = values(&mut f, 10, None, None);
    f.apply(&Change::Unpack { children: &[ITEM] }, &v);
    const ITEM3: &str = "010036141412345821S3";
    f.insert(ITEM3, Serial::absent(SerialKind::Sgtin), None);
    let v = values(&mut f, 11, None, None);
    f.apply(&Change::Commission(&[ITEM3]), &v);
    let v = values(&mut f, 12, None, None);
    f.apply(
        &Change::Pack {
            parent: CASE,
            children: &[ITEM3],
        },
        &v,
    );
    assert_eq!(
        f.children_of(CASE),
        vec![Box::<str>::from(ITEM2), Box::<str>::from(ITEM3)]
    );
    // What the change counts is what applying it counts.
    let all = [ITEM2, ITEM3];
    let change = Change::Unpack { children: &all };
    let counts = f.effect_counts(&change);
    let v = values(&mut f, 13, None, None);
    assert_eq!(f.apply(&change, &v), counts);
    assert!(f.children_of(CASE).is_empty());
}
