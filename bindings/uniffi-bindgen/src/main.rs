//! `uniffi-bindgen`: generates Kotlin, Swift and Python from the built `partysocket-ffi`
//! library (`cargo xtask bindings` runs it).

fn main() {
    uniffi::uniffi_bindgen_main()
}
