#!/usr/bin/env bash
# The smallest bundles Leptos makes with this workspace's versions (Cargo.lock), WASM profile
# and build flags (--split --precompress, wasm-opt, brotli 11): the floor under any page of ours.
#  - hydrate: the architecture Gatehouse uses (the whole page hydrates, a client-side router,
#    lazy routes), with two routes, one of which calls one server function;
#  - islands: the page rendered by the server only, with two lazy islands, one of which calls
#    one server function.
# Each is a tiny crate written under target/floor (nothing of it is committed) and built for the
# browser only. Prints the brotli size of every file that a first visit of the page with the
# server-calling route or island fetches. The first run compiles each for some minutes.
# Usage: bash scripts/measure-floor.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
command -v wasm-opt >/dev/null || bash scripts/setup.sh test
floor="$root/target/floor"

# $1: crate name, $2: extra leptos features (TOML list items), stdin: src/lib.rs
write_crate() {
  local dir="$floor/$1"
  mkdir -p "$dir/src"
  cat >"$dir/src/lib.rs"
  echo 'fn main() {}' >"$dir/src/main.rs"
  cp "$root/Cargo.lock" "$dir/Cargo.lock"
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "$1"
version = "0.1.0"
edition = "2024"

# Not a member of Gatehouse's workspace.
[workspace]

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
leptos = { version = "0.8.12", features = [$2] }
leptos_router = "0.8"
serde = { version = "1", features = ["derive"] }
wasm-bindgen = "=0.2.130"
wasm-bindgen-futures = "0.4"

[features]
hydrate = ["leptos/hydrate"]
ssr = ["leptos/ssr", "leptos_router/ssr"]

$(sed -n '/^\[profile.wasm-release\]/,/^$/p' "$root/Cargo.toml")

[package.metadata.leptos]
output-name = "$1"
site-root = "target/site"
site-pkg-dir = "pkg"
lib-features = ["hydrate"]
lib-default-features = false
lib-profile-release = "wasm-release"
bin-features = ["ssr"]
hash-files = true
always-erase-components = true
EOF
}

write_crate floor_hydrate '' <<'EOF'
use leptos::prelude::*;
use leptos_router::{
    Lazy, LazyRoute,
    components::{A, Route, Router, Routes},
    lazy_route, path,
};

#[server]
pub async fn bump(n: i32) -> Result<i32, ServerFnError> {
    Ok(n + 1)
}

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <nav><A href="/a">"A"</A><A href="/b">"B"</A></nav>
            <Routes fallback=|| "not found">
                <Route path=path!("/a") view={Lazy::<PageA>::new()}/>
                <Route path=path!("/b") view={Lazy::<PageB>::new()}/>
            </Routes>
        </Router>
    }
}

struct PageA;

#[lazy_route]
impl LazyRoute for PageA {
    fn data() -> Self {
        PageA
    }
    fn view(_this: Self) -> AnyView {
        let n = RwSignal::new(0);
        let click = move |_| {
            leptos::task::spawn_local(async move {
                if let Ok(v) = bump(n.get_untracked()).await {
                    n.set(v)
                }
            })
        };
        view! { <button on:click=click>{n}</button> }.into_any()
    }
}

struct PageB;

#[lazy_route]
impl LazyRoute for PageB {
    fn data() -> Self {
        PageB
    }
    fn view(_this: Self) -> AnyView {
        view! { <p>"B"</p> }.into_any()
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    wasm_bindgen_futures::spawn_local(async {
        let body = document().body().unwrap();
        leptos::mount::hydrate_from_async(body, App).await.forget();
    });
}
EOF

write_crate floor_islands '"islands"' <<'EOF'
use leptos::prelude::*;

#[server]
pub async fn bump(n: i32) -> Result<i32, ServerFnError> {
    Ok(n + 1)
}

#[component]
pub fn App() -> impl IntoView {
    view! { <main><p>"Rendered by the server"</p><Counter start=1/><Echo/></main> }
}

#[island(lazy)]
fn Counter(start: i32) -> impl IntoView {
    let n = RwSignal::new(start);
    let click = move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(v) = bump(n.get_untracked()).await {
                n.set(v)
            }
        })
    };
    view! { <button on:click=click>{n}</button> }
}

#[island(lazy)]
fn Echo() -> impl IntoView {
    let s = RwSignal::new(String::new());
    view! { <input on:input=move |ev| s.set(event_target_value(&ev))/><p>{s}</p> }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
}
EOF

for name in floor_hydrate floor_islands; do
  echo "[floor] building $name" >&2
  (cd "$floor/$name" && cargo leptos build --release --split --precompress --frontend-only >build.log 2>&1) ||
    { tail -30 "$floor/$name/build.log" >&2; exit 1; }
done

# A first visit fetches the main module and JS, the split loader, and the chunks of the route
# or island that calls the server (in the islands build, both islands are on the page).
report() {
  local name=$1 pattern=$2 total=0
  echo "$name:"
  while IFS= read -r f; do
    local br
    br=$(stat -c %s "$f.br")
    total=$((total + br))
    printf '  %-60s %8s\n' "$(basename "$f" | sed -E 's/\.[A-Za-z0-9_-]{22}\././')" "$br"
  done < <(find "$floor/$name/target/site/pkg" -type f \( -name '*.wasm' -o -name '*.js' \) |
    grep -Ev "$pattern" | sort)
  printf '  %-60s %8s\n' "first visit, WASM + JS (brotli 11)" "$total"
}
echo "brotli-11 bytes per file:"
report floor_hydrate 'page_b'
report floor_islands '^$'
