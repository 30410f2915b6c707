/* dothi-render-pool.h: renders blocks (map tiles) of project layers in a
 * GThreadPool, newest request first, one DothiTileRenderer per thread,
 * with the optional disk cache. Results come back on the main context of
 * the thread that made the request. */
#pragma once

#include <gio/gio.h>
#include "dothi-tile-renderer.h"
#include "dothi-project.h"

G_BEGIN_DECLS

/* A rendered block: ARGB32 premultiplied in native byte order, which is
 * GDK_MEMORY_DEFAULT (B8G8R8A8_PREMULTIPLIED on little-endian machines). */
typedef struct {
  DothiBlock  block;
  double      scale;
  GBytes     *pixels;   /* NULL when nothing was drawn: a transparent block */
  int         width;    /* pixels: block.size */
  int         height;
  gsize       stride;
  gboolean    from_cache;
} DothiTile;

#define DOTHI_TYPE_TILE (dothi_tile_get_type ())
GType      dothi_tile_get_type (void) G_GNUC_CONST;
DothiTile *dothi_tile_ref      (DothiTile *tile);
void       dothi_tile_unref    (DothiTile *tile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiTile, dothi_tile_unref)

#define DOTHI_TYPE_RENDER_POOL (dothi_render_pool_get_type ())
G_DECLARE_FINAL_TYPE (DothiRenderPool, dothi_render_pool, DOTHI, RENDER_POOL, GObject)

/* @uuid names the disk cache ($XDG_CACHE_HOME/dothi/<uuid>.mbtiles);
 * NULL for none. @n_threads 0 for one per processor. */
DothiRenderPool *dothi_render_pool_new (const char  *path,
                                        const char  *uuid,
                                        guint        n_threads,
                                        GError     **error);

/* Called on the requesting thread's main context. @tile is NULL with
 * @error set on failure (G_IO_ERROR_CANCELLED when cancelled). */
typedef void (*DothiTileReadyFunc) (DothiRenderPool  *pool,
                                    DothiTile        *tile,
                                    const GError     *error,
                                    gpointer          user_data);

/* Queues a block; requests of a newer @generation are served before older
 * ones (the map bumps it each time the viewport moves). A highlight layer
 * (@layer->selection set) is always drawn afresh: never read from or
 * written to the disk cache. */
void     dothi_render_pool_request (DothiRenderPool    *self,
                                    DothiRenderLayer   *layer,
                                    const DothiBlock   *block,
                                    double              scale,
                                    guint               generation,
                                    GCancellable       *cancellable,
                                    DothiTileReadyFunc  func,
                                    gpointer            user_data,
                                    GDestroyNotify      destroy);

/* Label candidates of @layer for a viewport (see
 * dothi_tile_renderer_labels), computed on a pool thread. */
void       dothi_render_pool_labels_async  (DothiRenderPool     *self,
                                            DothiRenderLayer    *layer,
                                            const double         bbox[4],
                                            double               resolution,
                                            guint                limit,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
GPtrArray *dothi_render_pool_labels_finish (DothiRenderPool  *self,
                                            GAsyncResult     *result,
                                            GError          **error);

/* The outline of feature @fid of @layer in Web Mercator metres, for the
 * identify and search highlight: a GPtrArray of GArray (double x, y pairs),
 * one per ring, line or point (a point is one pair). */
void       dothi_render_pool_outline_async  (DothiRenderPool     *self,
                                             DothiRenderLayer    *layer,
                                             gint64               fid,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
GPtrArray *dothi_render_pool_outline_finish (DothiRenderPool  *self,
                                             GAsyncResult     *result,
                                             GError          **error);

/* Forgets cached blocks of @layer (NULL: all layers) that meet @bbox
 * (Web Mercator; NULL: everywhere), in memory and on disk. */
void     dothi_render_pool_invalidate (DothiRenderPool *self,
                                       const char      *layer,
                                       const double    *bbox);

/* Renders the blocks covering the image of @bbox (Web Mercator) at
 * @resolution into one @width × @height image, every visible layer of
 * @layers (bottom first) composited with its opacity, using the cache.
 * Blocks are drawn in parallel on the pool; blocks the cache holds are
 * copied (a composite holding a visible highlight layer is never cached).
 * The bbox's top-left is snapped to the pixel grid. Blocks until done:
 * for the CLI and tests, never the main loop. */
cairo_surface_t *dothi_render_pool_render_sync (DothiRenderPool   *self,
                                                GPtrArray         *layers,
                                                const double       bbox[4],
                                                int                width,
                                                int                height,
                                                DothiRenderFlags   flags,
                                                GCancellable      *cancellable,
                                                GError           **error);

/* The layers of @project as the map draws them: DothiRenderLayer*, bottom
 * first, each with its stored or default style. Hidden layers are
 * included (visible = FALSE). */
GPtrArray *dothi_render_layers_for_project (DothiProject  *project,
                                            GError       **error);

/* Opens every thread's renderer and prepares @layers (DothiRenderLayer*)
 * ahead of the first tile: the map calls it when a project opens, while
 * the window draws its first frame. With @wait, blocks until done. Call
 * it once, before any request. */
void     dothi_render_pool_prepare (DothiRenderPool *self,
                                    GPtrArray       *layers,
                                    gboolean         wait);

/* Blocks until every rendered block queued for the disk cache is written
 * (writes happen on a thread of their own, in batches). */
void     dothi_render_pool_wait_cache (DothiRenderPool *self);

/* Counters for tests and the status of the cache. */
guint    dothi_render_pool_get_n_rendered  (DothiRenderPool *self);
guint    dothi_render_pool_get_n_cache_hits (DothiRenderPool *self);

G_END_DECLS
