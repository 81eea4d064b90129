//! The schema as a contract: migrations go down and up again cleanly, and the invariants the
//! database itself enforces hold.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_migrations::MigrationHarness;
use dscsa_exchange::store::MIGRATIONS;

use crate::helpers::TestDb;

#[test]
fn migrations_revert_and_reapply_cleanly() {
    let db = TestDb::create();
    let mut conn = db.conn();
    let total = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .unwrap()
        .len();
    assert!(total > 0);
    conn.revert_all_migrations(MIGRATIONS)
        .expect("down migrations");
    assert!(
        conn.batch_execute("SELECT 1 FROM serials").is_err(),
        "tables remain after down"
    );
    let applied = conn.run_pending_migrations(MIGRATIONS).expect("up again");
    assert_eq!(applied.len(), total);
    conn.batch_execute("SELECT 1 FROM serials").unwrap();
}

#[test]
fn audit_log_refuses_updates_and_deletes() {
    let db = TestDb::create();
    let mut conn = db.conn();
    conn.batch_execute("INSERT INTO audit_log (actor, action) VALUES ('test', 'created')")
        .unwrap();
    let update = conn.batch_execute("UPDATE audit_log SET actor = 'someone else'");
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.batch_execute("DELETE FROM audit_log");
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let truncate = conn.batch_execute("TRUNCATE audit_log");
    assert!(truncate.unwrap_err().to_string().contains("append-only"));
}

#[test]
fn serials_are_unique_per_identifier_key() {
    let db = TestDb::create();
    let mut conn = db.conn();
    let insert = "INSERT INTO serials (epc_key, kind, gtin, serial_number, status) \
                  VALUES ('010036141412345821SN1', 1, '00361414123458', 'SN1', 1)";
    conn.batch_execute(insert).unwrap();
    assert!(
        conn.batch_execute(insert).is_err(),
        "a second row for the same SGTIN"
    );
}

#[test]
fn serial_gtins_lists_each_gtin_of_stored_serials_once_however_they_were_written() {
    // Migration 10: whether a GTIN has serials here is answered from `serial_gtins`, kept by a
    // statement trigger on `serials` (the per-row index on (gtin, lot) is gone).
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        gtin: String,
    }
    let db = TestDb::create();
    let mut conn = db.conn();
    conn.batch_execute(
        "INSERT INTO serials (epc_key, kind, gtin, serial_number, status) VALUES \
         ('010036141412345821A', 1, '00361414123458', 'A', 1), \
         ('010036141412345821B', 1, '00361414123458', 'B', 1), \
         ('00003614141234567897', 2, NULL, NULL, 1); \
         INSERT INTO serials (epc_key, kind, gtin, serial_number, status) VALUES \
         ('010036141412345821C', 1, '00361414123458', 'C', 1);",
    )
    .unwrap();
    // COPY goes through the same trigger; diesel's COPY is what the capture uses.
    diesel::table! {
        serials (id) {
            id -> BigInt,
            epc_key -> Text,
            kind -> SmallInt,
            gtin -> Nullable<Text>,
            status -> SmallInt,
        }
    }
    #[derive(Insertable)]
    #[diesel(table_name = serials, treat_none_as_default_value = false)]
    struct New {
        epc_key: String,
        kind: i16,
        gtin: Option<String>,
        status: i16,
    }
    let rows: Vec<New> = ["00361414123458", "10361414123455", "10361414123455"]
        .iter()
        .enumerate()
        .map(|(i, g)| New {
            epc_key: format!("01{g}21COPY{i}"),
            kind: 1,
            gtin: Some(g.to_string()),
            status: 1,
        })
        .collect();
    diesel::copy_from(serials::table)
        .from_insertable(&rows)
        .execute(&mut conn)
        .unwrap();
    let listed: Vec<String> =
        diesel::sql_query("SELECT gtin::text AS gtin FROM serial_gtins ORDER BY gtin")
            .load::<Row>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|r| r.gtin)
            .collect();
    assert_eq!(listed, ["00361414123458", "10361414123455"]);
}

#[test]
fn an_accepted_document_is_stored_once_per_content_hash() {
    let db = TestDb::create();
    let mut conn = db.conn();
    let insert = |id: &str, status: &str| {
        format!(
            "INSERT INTO documents (id, direction, format, status, sha256, byte_size) VALUES \
             ('{id}', 'received', 'epcis-1.2-xml', '{status}', sha256('same bytes'), 10)"
        )
    };
    conn.batch_execute(&insert("00000000-0000-0000-0000-000000000001", "rejected"))
        .unwrap();
    conn.batch_execute(&insert("00000000-0000-0000-0000-000000000002", "accepted"))
        .unwrap();
    let again = conn.batch_execute(&insert("00000000-0000-0000-0000-000000000003", "accepted"));
    assert!(again.is_err(), "the same accepted bytes stored twice");
}
