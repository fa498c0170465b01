/* Built against an installed wschannels (pkg-config or find_package): starts
 * a server on a free port, checks the runtime version, closes it. */
#include <stdio.h>

#include <wschannels/wschannels.h>

int main(void) {
  if (wsc_version() != WSC_VERSION_HEX) {
    fprintf(stderr, "headers %s, library %s\n", WSC_VERSION_STRING,
            wsc_version_string());
    return 1;
  }
  wsc_consumer *c;
  if (wsc_consumer_new("app", &c)) return 1;
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.config_json = "{\"routes\":[{\"path\":\"/ws\",\"consumer\":\"app\"}]}";
  o.consumers = &c;
  o.n_consumers = 1;
  char err[WSC_ERRBUF_SIZE];
  wsc_server *srv;
  if (wsc_server_new(&o, &srv, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  printf("installed wschannels %s served on port %d\n", wsc_version_string(),
         wsc_server_get_port(srv));
  return wsc_server_close(srv, NULL, NULL);
}
