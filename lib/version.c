#include "wschannels/version.h"

unsigned int wsc_version(void) { return WSC_VERSION_HEX; }
const char *wsc_version_string(void) { return WSC_VERSION_STRING; }
