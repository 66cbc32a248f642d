//! One current source per stored function: `booking/sql/functions/<name>.sql` holds the
//! body PostgreSQL has after every migration, so nobody has to read the migration chain to
//! find what runs. A migration that changes a function without its file (or a file changed
//! without a migration) fails here.

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::PgPool;

/// The statement of a function file: its leading comment lines and the closing `;` off.
fn statement(text: &str) -> String {
    let body: Vec<&str> = text
        .lines()
        .skip_while(|line| line.starts_with("--"))
        .collect();
    body.join("\n")
        .trim_end()
        .trim_end_matches(';')
        .trim_end()
        .to_owned()
}

fn files() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/functions");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, statement(&std::fs::read_to_string(&path).unwrap()))
        })
        .collect()
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn stored_functions_match_their_files(pool: PgPool) {
    let stored: BTreeMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT p.proname::text, pg_get_functiondef(p.oid)
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'public' AND p.prokind = 'f'",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(name, def)| (name, def.trim_end().to_owned()))
    .collect();
    let files = files();
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>(),
        "every stored function has exactly one file in booking/sql/functions"
    );
    for (name, def) in &stored {
        assert_eq!(
            &files[name], def,
            "booking/sql/functions/{name}.sql is not the body the migrations leave"
        );
    }
}

#[test]
fn a_changed_body_is_told_apart() {
    let file = "-- comment\n--\nCREATE OR REPLACE FUNCTION public.f()\nAS $function$ SELECT 1 $function$\n;\n";
    assert_eq!(
        statement(file),
        "CREATE OR REPLACE FUNCTION public.f()\nAS $function$ SELECT 1 $function$"
    );
    assert_ne!(
        statement(file),
        statement(&file.replace("SELECT 1", "SELECT 2"))
    );
}
