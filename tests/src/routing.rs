//! The route table: which URL paths reach which party and room.

/// One way a URL path can name a party and a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/{prefix}/:party/:room[/*path]`; `partykit dev` serves this with the prefix `parties`.
    /// The prefix may have several segments (`"api/v1"`), as the client's `prefix` option may.
    Parties {
        /// The leading segments, without surrounding slashes.
        prefix: String,
    },
    /// `/{prefix}/:room[/*path]` for one fixed party; `partykit dev` serves the classic
    /// `/party/:room` this way for the party `main`.
    Party {
        /// The leading segments, without surrounding slashes.
        prefix: String,
        /// The party every room under this prefix belongs to.
        party: String,
    },
    /// A fixed base path (the client's `basePath` option) that stands for one party and room;
    /// anything after it is the request's sub-path.
    BasePath {
        /// The base path, without surrounding slashes (`"my/base"`).
        path: String,
        /// The party this base path reaches.
        party: String,
        /// The room this base path reaches.
        room: String,
    },
}

/// Where a request path leads: a party, a room, and what came after the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The party name as written in the path (not percent-decoded, as `partykit dev`).
    pub party: String,
    /// The room name as written in the path.
    pub room: String,
    /// The rest of the path after the room, without its leading slash; `None` when the path
    /// ends at the room.
    pub sub_path: Option<String>,
}

/// An ordered list of [`Route`]s; the first one that matches a path wins.
///
/// The default is what `partykit dev` serves: `/parties/:party/:room` and `/party/:room`.
///
/// ```
/// use party_mock::RouteTable;
///
/// let routes = RouteTable::default()
///     .with_prefix("api/v1")
///     .with_base_path("/lobby", "chat", "main-lobby");
/// let hit = routes.resolve("/api/v1/echo/r1/extra").unwrap();
/// assert_eq!((hit.party.as_str(), hit.room.as_str()), ("echo", "r1"));
/// assert_eq!(routes.resolve("/lobby").unwrap().room, "main-lobby");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable {
            routes: vec![
                Route::Parties {
                    prefix: "parties".to_owned(),
                },
                Route::Party {
                    prefix: "party".to_owned(),
                    party: "main".to_owned(),
                },
            ],
        }
    }
}

impl RouteTable {
    /// A table with no routes at all (every party path answers 404 `Not found`).
    pub fn empty() -> Self {
        RouteTable { routes: Vec::new() }
    }

    /// The routes, in matching order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Appends `route`.
    pub fn with(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Appends `/{prefix}/:party/:room[/*path]` (the client's `prefix` option).
    pub fn with_prefix(self, prefix: &str) -> Self {
        self.with(Route::Parties {
            prefix: trim_slashes(prefix).to_owned(),
        })
    }

    /// Appends a base path standing for `party` and `room` (the client's `basePath` option).
    pub fn with_base_path(self, path: &str, party: &str, room: &str) -> Self {
        self.with(Route::BasePath {
            path: trim_slashes(path).to_owned(),
            party: party.to_owned(),
            room: room.to_owned(),
        })
    }

    /// Finds the party and room a request path (without query) names, or `None` when no
    /// route matches.
    pub fn resolve(&self, path: &str) -> Option<RouteMatch> {
        let path = path.strip_prefix('/')?;
        self.routes.iter().find_map(|route| route.resolve(path))
    }
}

impl Route {
    fn resolve(&self, path: &str) -> Option<RouteMatch> {
        match self {
            Route::Parties { prefix } => {
                let rest = strip_segments(path, prefix)?;
                let (party, rest) = split_segment(rest);
                let (room, sub_path) = split_segment(rest?);
                non_empty(party)?;
                non_empty(room)?;
                Some(RouteMatch {
                    party: party.to_owned(),
                    room: room.to_owned(),
                    sub_path: sub_path.map(str::to_owned),
                })
            }
            Route::Party { prefix, party } => {
                let rest = strip_segments(path, prefix)?;
                let (room, sub_path) = split_segment(rest);
                non_empty(room)?;
                Some(RouteMatch {
                    party: party.clone(),
                    room: room.to_owned(),
                    sub_path: sub_path.map(str::to_owned),
                })
            }
            Route::BasePath {
                path: base,
                party,
                room,
            } => {
                let sub_path = if path == base {
                    None
                } else {
                    Some(strip_segments(path, base)?.to_owned())
                };
                Some(RouteMatch {
                    party: party.clone(),
                    room: room.clone(),
                    sub_path,
                })
            }
        }
    }
}

/// `path` without the leading segments `prefix` and the slash after them.
fn strip_segments<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(path);
    }
    path.strip_prefix(prefix)?.strip_prefix('/')
}

/// The first segment of `path` and what follows its slash, if there is a slash.
fn split_segment(path: &str) -> (&str, Option<&str>) {
    match path.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    }
}

fn non_empty(segment: &str) -> Option<()> {
    (!segment.is_empty()).then_some(())
}

fn trim_slashes(path: &str) -> &str {
    path.trim_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(table: &RouteTable, path: &str) -> Option<(String, String, Option<String>)> {
        table.resolve(path).map(|m| (m.party, m.room, m.sub_path))
    }

    fn some(
        party: &str,
        room: &str,
        sub: Option<&str>,
    ) -> Option<(String, String, Option<String>)> {
        Some((party.into(), room.into(), sub.map(Into::into)))
    }

    #[test]
    fn default_table_serves_parties_and_classic_routes() {
        let table = RouteTable::default();
        assert_eq!(hit(&table, "/parties/chat/r1"), some("chat", "r1", None));
        assert_eq!(
            hit(&table, "/parties/chat/r1/a/b"),
            some("chat", "r1", Some("a/b"))
        );
        assert_eq!(
            hit(&table, "/parties/chat/r1/"),
            some("chat", "r1", Some(""))
        );
        assert_eq!(hit(&table, "/party/r1"), some("main", "r1", None));
        assert_eq!(hit(&table, "/party/r1/x"), some("main", "r1", Some("x")));
    }

    #[test]
    fn incomplete_paths_do_not_match() {
        let table = RouteTable::default();
        for path in [
            "/",
            "",
            "/parties",
            "/parties/",
            "/parties/main",
            "/parties/main/",
            "/parties//r",
            "/party",
            "/party/",
            "/partiesx/main/r",
            "/other/main/r",
        ] {
            assert_eq!(hit(&table, path), None, "{path}");
        }
    }

    #[test]
    fn custom_prefix_and_base_path() {
        let table =
            RouteTable::empty()
                .with_prefix("/a/b/")
                .with_base_path("custom/base", "echo", "fixed");
        assert_eq!(hit(&table, "/a/b/game/g1"), some("game", "g1", None));
        assert_eq!(hit(&table, "/custom/base"), some("echo", "fixed", None));
        assert_eq!(
            hit(&table, "/custom/base/deeper"),
            some("echo", "fixed", Some("deeper"))
        );
        assert_eq!(hit(&table, "/custom/basement"), None);
        assert_eq!(hit(&table, "/parties/main/r"), None);
    }

    #[test]
    fn first_matching_route_wins() {
        let table = RouteTable::empty()
            .with_base_path("parties/main/special", "echo", "special")
            .with_prefix("parties");
        assert_eq!(
            hit(&table, "/parties/main/special"),
            some("echo", "special", None)
        );
        assert_eq!(
            hit(&table, "/parties/main/other"),
            some("main", "other", None)
        );
    }
}
