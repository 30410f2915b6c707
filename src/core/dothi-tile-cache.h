/* dothi-tile-cache.h: rendered blocks on disk, in
 * $XDG_CACHE_HOME/dothi/<project-uuid>.mbtiles, never in the project
 * (DESIGN.md §5). One handle per thread; handles on one file share it
 * through SQLite's WAL. Internal to the render pool. */
#pragma once

#include <gio/gio.h>
#include "dothi-tile-renderer.h"

G_BEGIN_DECLS

typedef struct _DothiTileCache DothiTileCache;

/* The cache file of a project, creating the folder. */
char           *dothi_tile_cache_path_for (const char *uuid);
/* NULL with @error when the file cannot be opened or created. */
DothiTileCache *dothi_tile_cache_open  (const char *path, GError **error);
void            dothi_tile_cache_close (DothiTileCache *self);

/* TRUE on a hit; *@pixels is NULL for a block cached as empty. A
 * highlight layer (@layer->selection set) always misses, and puts of it
 * are ignored. */
gboolean        dothi_tile_cache_get (DothiTileCache         *self,
                                      const DothiRenderLayer *layer,
                                      const DothiBlock       *block,
                                      GBytes                **pixels);
/* @pixels NULL for an empty block. Failures only cost speed: ignored. */
void            dothi_tile_cache_put (DothiTileCache         *self,
                                      const DothiRenderLayer *layer,
                                      const DothiBlock       *block,
                                      GBytes                 *pixels);
/* Drops blocks of @layer (NULL: all) meeting @bbox (Web Mercator; NULL:
 * all), at every resolution, and the composited maps ("@…") there. */
void            dothi_tile_cache_invalidate (DothiTileCache *self,
                                             const char     *layer,
                                             const double   *bbox);
/* Groups puts in one transaction (failures only cost speed). */
void            dothi_tile_cache_begin  (DothiTileCache *self);
void            dothi_tile_cache_commit (DothiTileCache *self);
/* The newest audit id the cache reflects; 0 for an empty cache. */
gint64          dothi_tile_cache_get_audit_id (DothiTileCache *self);
void            dothi_tile_cache_set_audit_id (DothiTileCache *self, gint64 id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiTileCache, dothi_tile_cache_close)

G_END_DECLS
