//! Where the bytes of a `.wasm` file go: its sections and its largest functions, read
//! from the binary itself (the function names come from its `name` section).

use std::collections::HashMap;

/// One section: its id's name (or a custom section's own name) and its size.
#[derive(Debug, PartialEq)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) bytes: usize,
}

/// What a module is made of.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Breakdown {
    pub(crate) sections: Vec<Section>,
    /// Function bodies, largest first: `(name, bytes)`; unnamed ones are `func[N]`.
    pub(crate) functions: Vec<(String, usize)>,
}

/// A reader over the module's bytes that never panics: every read is checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| format!("the module ends early at byte {}", self.at))?;
        self.at += 1;
        Ok(byte)
    }

    /// An unsigned LEB128 number of at most 32 bits.
    fn u32(&mut self) -> Result<u32, String> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            value |= u32::from(byte & 0x7f)
                .checked_shl(shift)
                .ok_or("a LEB128 number is too long")?;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("a LEB128 number is too long at byte {}", self.at))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("a length of {len} runs past the module's end"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }
}

fn section_name(id: u8) -> &'static str {
    match id {
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "data count",
        _ => "unknown",
    }
}

/// Reads `module` (a WebAssembly binary).
///
/// # Errors
///
/// When it is not a WebAssembly module, or is cut short.
pub(crate) fn breakdown(module: &[u8]) -> Result<Breakdown, String> {
    let mut reader = Reader::new(module);
    if reader.take(8)? != b"\0asm\x01\0\0\0" {
        return Err("not a WebAssembly module (version 1)".into());
    }
    let mut result = Breakdown::default();
    let mut imported_functions = 0u32;
    let mut bodies: Vec<usize> = Vec::new();
    let mut names: HashMap<u32, String> = HashMap::new();
    while !reader.done() {
        let id = reader.byte()?;
        let len = reader.u32()? as usize;
        let body = reader.take(len)?;
        let mut inner = Reader::new(body);
        let name = match id {
            0 => {
                let name = inner.name()?;
                if name == "name" {
                    read_function_names(&mut inner, &mut names)?;
                }
                format!("custom \"{name}\"")
            }
            2 => {
                imported_functions = count_imported_functions(&mut inner)?;
                section_name(id).to_owned()
            }
            10 => {
                let count = inner.u32()?;
                for _ in 0..count {
                    let size = inner.u32()? as usize;
                    inner.take(size)?;
                    bodies.push(size);
                }
                section_name(id).to_owned()
            }
            _ => section_name(id).to_owned(),
        };
        result.sections.push(Section { name, bytes: len });
    }
    result.functions = bodies
        .into_iter()
        .enumerate()
        .map(|(index, bytes)| {
            let index = imported_functions.saturating_add(index as u32);
            let name = names
                .remove(&index)
                .unwrap_or_else(|| format!("func[{index}]"));
            (name, bytes)
        })
        .collect();
    result
        .functions
        .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(result)
}

/// Function imports come first in the function index space.
fn count_imported_functions(reader: &mut Reader<'_>) -> Result<u32, String> {
    let count = reader.u32()?;
    let mut functions = 0u32;
    for _ in 0..count {
        reader.name()?;
        reader.name()?;
        match reader.byte()? {
            0 => {
                reader.u32()?;
                functions += 1;
            }
            1 => {
                reader.byte()?;
                limits(reader)?;
            }
            2 => limits(reader)?,
            3 => {
                reader.byte()?;
                reader.byte()?;
            }
            4 => {
                reader.byte()?;
                reader.u32()?;
            }
            kind => return Err(format!("unknown import kind {kind}")),
        }
    }
    Ok(functions)
}

fn limits(reader: &mut Reader<'_>) -> Result<(), String> {
    let flags = reader.byte()?;
    reader.u32()?;
    if flags & 1 == 1 {
        reader.u32()?;
    }
    Ok(())
}

/// The function names of a `name` section (subsection 1).
fn read_function_names(
    reader: &mut Reader<'_>,
    names: &mut HashMap<u32, String>,
) -> Result<(), String> {
    while !reader.done() {
        let kind = reader.byte()?;
        let len = reader.u32()? as usize;
        let body = reader.take(len)?;
        if kind == 1 {
            let mut inner = Reader::new(body);
            let count = inner.u32()?;
            for _ in 0..count {
                let index = inner.u32()?;
                names.insert(index, inner.name()?);
            }
        }
    }
    Ok(())
}

/// Groups function bytes by the crate their (mangled or demangled) name belongs to:
/// `core::fmt::float::...` and `_ZN4core3fmt5float...` both go to `core::fmt`.
pub(crate) fn by_area(functions: &[(String, usize)]) -> Vec<(String, usize)> {
    let mut areas: HashMap<String, usize> = HashMap::new();
    for (name, bytes) in functions {
        *areas.entry(area(name)).or_default() += bytes;
    }
    let mut areas: Vec<_> = areas.into_iter().collect();
    areas.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    areas
}

/// The first two path segments of a Rust symbol, or the name itself.
fn area(name: &str) -> String {
    let path: Vec<String> = match name.strip_prefix("_ZN") {
        Some(mangled) => {
            let mut segments = Vec::new();
            let mut rest = mangled;
            while segments.len() < 2 {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let Ok(len) = rest[..digits].parse::<usize>() else {
                    break;
                };
                let Some(segment) = rest.get(digits..digits + len) else {
                    break;
                };
                segments.push(segment.to_owned());
                rest = &rest[digits + len..];
            }
            segments
        }
        None => {
            let trimmed = name.trim_start_matches('<');
            trimmed
                .split("::")
                .take(2)
                .map(|segment| segment.split([' ', '<']).next().unwrap_or("").to_owned())
                .collect()
        }
    };
    if path.is_empty() || path[0].is_empty() || path[0].starts_with("func[") {
        return "unnamed".to_owned();
    }
    path.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one imported function, two bodies and a name section naming them.
    fn module() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // type: one `() -> ()`
        m.extend([1, 4, 1, 0x60, 0, 0]);
        // import "m" "f" func type 0
        m.extend([2, 7, 1, 1, b'm', 1, b'f', 0, 0]);
        // function: two of type 0
        m.extend([3, 3, 2, 0, 0]);
        // code: bodies of 2 and 4 bytes
        m.extend([10, 9, 2, 2, 0, 0x0b, 4, 0, 0x01, 0x01, 0x0b]);
        // name section: functions 1 and 2
        let names: Vec<u8> = [
            vec![2],
            vec![1, 1, b'a'],
            vec![2, 13],
            b"_ZN4core3fmt".to_vec(),
            vec![b'x'],
        ]
        .concat();
        let mut sub = vec![1, names.len() as u8];
        sub.extend(&names);
        let mut custom = vec![4];
        custom.extend(b"name");
        custom.extend(&sub);
        m.push(0);
        m.push(custom.len() as u8);
        m.extend(custom);
        m
    }

    #[test]
    fn sections_and_named_functions_largest_first() {
        let b = breakdown(&module()).unwrap();
        let names: Vec<_> = b.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["type", "import", "function", "code", "custom \"name\""]
        );
        assert_eq!(
            b.functions,
            [("_ZN4core3fmtx".to_owned(), 4), ("a".to_owned(), 2)]
        );
        assert_eq!(
            by_area(&b.functions),
            [("core::fmt".to_owned(), 4), ("a".to_owned(), 2)]
        );
    }

    #[test]
    fn a_cut_module_is_an_error_not_a_panic() {
        let module = module();
        for len in 0..module.len() {
            let _ = breakdown(&module[..len]);
        }
        assert!(breakdown(&module[..module.len() - 3]).is_err());
        assert!(breakdown(b"not wasm").is_err());
    }

    #[test]
    fn demangled_names_group_by_their_path() {
        assert_eq!(area("core::fmt::float::float_to_decimal"), "core::fmt");
        assert_eq!(
            area("<partysocket::core::error::OptionsError as core::fmt::Display>::fmt"),
            "partysocket::core"
        );
        assert_eq!(area("func[12]"), "unnamed");
    }
}
