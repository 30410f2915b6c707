/* dothi-identify-panel.h: the side panel that shows what a click on the
 * map hit: the layer, the feature's fields and values, and the other
 * features under the same point. */
#pragma once

#include <adwaita.h>
#include "dothi-search.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_IDENTIFY_PANEL (dothi_identify_panel_get_type ())
G_DECLARE_FINAL_TYPE (DothiIdentifyPanel, dothi_identify_panel, DOTHI, IDENTIFY_PANEL, AdwBin)

/* Signals:
 *  "result-shown" (const char *layer, gint64 fid): a result is now shown
 *     (after set_results, or the user picked another one);
 *  "zoom-requested" (): the user asked to zoom to the shown feature;
 *  "close-requested" (): the close button was pressed. */
GtkWidget                 *dothi_identify_panel_new         (void);

/* Shows @results (DothiIdentifyResult*, topmost first), the first one
 * first; the panel keeps a reference. NULL or empty clears it. */
void                       dothi_identify_panel_set_results (DothiIdentifyPanel *self,
                                                             GPtrArray          *results);
guint                      dothi_identify_panel_get_n_results (DothiIdentifyPanel *self);
/* The result shown, or NULL; borrowed. */
const DothiIdentifyResult *dothi_identify_panel_get_current (DothiIdentifyPanel *self);
/* Shows result @index. */
void                       dothi_identify_panel_select      (DothiIdentifyPanel *self,
                                                             guint               index);
/* The heading shown (the layer title), for tests. */
const char                *dothi_identify_panel_get_title   (DothiIdentifyPanel *self);

G_END_DECLS
