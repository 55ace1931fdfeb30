/* A UDP echo server for 600-network.bats (busybox has none): answers every
 * datagram on 0.0.0.0:PORT with "echo:" and the datagram. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int
main (int argc, char **argv)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  char buf[2048];
  int s;

  if (argc != 2)
    return 2;
  sa.sin_port = htons ((unsigned short)atoi (argv[1]));
  s = socket (AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || bind (s, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      perror ("udp-echo");
      return 1;
    }
  printf ("listening\n");
  fflush (stdout);
  for (;;)
    {
      struct sockaddr_in from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom (s, buf + 5, sizeof buf - 5, 0, (struct sockaddr *)&from, &len);
      if (n < 0)
        continue;
      memcpy (buf, "echo:", 5);
      sendto (s, buf, (size_t)n + 5, 0, (struct sockaddr *)&from, len);
    }
}
