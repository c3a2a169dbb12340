/* A stand-in for Windows' netsh, for test/wine/run only: Wine's own netsh
 * prints nothing and changes nothing. It appends its arguments (one line,
 * words with spaces in double quotes) to %NETSH_LOG%, answers "interface
 * ipv4 show route" and "show interfaces" with a default route on adapter 12
 * named "Ethernet 2" (a name with a space, to test quoting), and says "Ok."
 * to everything else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *log = getenv("NETSH_LOG");
  FILE *f = fopen(log ? log : "netsh.log", "ab"); /* no CR before LF */
  if (f) {
    for (int i = 1; i < argc; i++)
      fprintf(f, strchr(argv[i], ' ') ? "%s\"%s\"" : "%s%s", i > 1 ? " " : "", argv[i]);
    fputc('\n', f);
    fclose(f);
  }
  if (argc >= 5 && !strcmp(argv[1], "interface") && !strcmp(argv[3], "show")) {
    if (!strcmp(argv[4], "route")) {
      puts("\nPublish  Type      Met  Prefix                    Idx  Gateway/Interface Name");
      puts("-------  --------  ---  ------------------------  ---  ------------------------");
      puts("No       Manual    0    0.0.0.0/0                  12  192.168.1.1");
      puts("No       System    256  192.168.1.0/24             12  Ethernet 2");
      return 0;
    }
    if (!strcmp(argv[4], "interfaces")) {
      puts("\nIdx     Met         MTU          State                Name");
      puts("---  ----------  ----------  ------------  ---------------------------");
      puts("  1          75  4294967295  connected     Loopback Pseudo-Interface 1");
      puts(" 12          25        1500  connected     Ethernet 2");
      return 0;
    }
  }
  puts("Ok.");
  return 0;
}
