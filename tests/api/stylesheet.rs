//! The committed stylesheet must be what Tailwind builds from the sources, so nobody ships a
//! template whose classes have no CSS.

use std::path::Path;
use std::process::Command;

#[test]
fn the_committed_stylesheet_matches_a_fresh_tailwind_build() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cli = root.join("node_modules/tailwindcss/lib/cli.js");
    assert!(
        cli.exists(),
        "Tailwind is not installed: run `npm ci` first (the README's test command does)"
    );
    let out = std::env::temp_dir().join(format!("picscripter-app-{}.css", std::process::id()));
    let status = Command::new("node")
        .current_dir(root)
        .arg(&cli)
        .args(["-c", "tailwind.config.js", "-i", "static/src/app.css", "-o"])
        .arg(&out)
        .arg("--minify")
        .output()
        .expect("node runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let built = std::fs::read_to_string(&out).unwrap();
    let committed = std::fs::read_to_string(root.join("static/app.css")).unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(
        built == committed,
        "static/app.css is out of date: run `npm run build:css` and commit the result"
    );
}
