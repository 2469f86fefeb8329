/* netns_cost.c — what a network namespace costs a run, measured the way the spawner makes runs.
 * Build and run as root:  cc -O2 -o /tmp/netns_cost bench/netns_cost.c && /tmp/netns_cost 500
 * "pool" rows are what Spawner/NetworkNamespacePool.swift does; "per run" is CLONE_NEWNET in the clone. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <signal.h>

static long long now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
static int cmp(const void*a,const void*b){long long x=*(long long*)a,y=*(long long*)b;return x<y?-1:x>y;}
static void report(const char*name,long long*v,int n){qsort(v,n,sizeof*v,cmp);printf("%-46s p50 %7.3f ms  p90 %7.3f  p99 %7.3f  max %7.3f\n",name,v[n/2]/1e6,v[n*9/10]/1e6,v[n*99/100]/1e6,v[n-1]/1e6);}
#define BASE (CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWNS|CLONE_NEWUTS)
static int lo_up(void){int s=socket(AF_INET,SOCK_DGRAM|SOCK_CLOEXEC,0);struct ifreq r={0};strcpy(r.ifr_name,"lo");ioctl(s,SIOCGIFFLAGS,&r);r.ifr_flags|=IFF_UP;int x=ioctl(s,SIOCSIFFLAGS,&r);close(s);return x;}
static long long clone_run(int flags,int uplo){long long t=now();pid_t p=syscall(SYS_clone,flags|SIGCHLD,NULL,NULL,NULL,0);if(p==0){if(uplo)lo_up();_exit(0);}int st;waitpid(p,&st,0);return now()-t;}
int main(int argc,char**argv){int N=argc>1?atoi(argv[1]):300;long long*v=calloc(N,sizeof*v);
 for(int i=0;i<N;i++)v[i]=clone_run(BASE,0); report("clone user+pid+ipc+mnt+uts, child exits",v,N);
 for(int i=0;i<N;i++)v[i]=clone_run(BASE|CLONE_NEWNET,0); report("  + CLONE_NEWNET",v,N);
 for(int i=0;i<N;i++)v[i]=clone_run(BASE|CLONE_NEWNET,1); report("  + CLONE_NEWNET + lo up in child (ioctl)",v,N);
 int self=open("/proc/self/ns/net",O_RDONLY|O_CLOEXEC);
 int *pool=calloc(N,sizeof(int));
 for(int i=0;i<N;i++){long long t=now();unshare(CLONE_NEWNET);lo_up();pool[i]=open("/proc/self/ns/net",O_RDONLY|O_CLOEXEC);setns(self,CLONE_NEWNET);v[i]=now()-t;}
 report("pool: make one (unshare+lo up+open+setns back)",v,N);
 for(int i=0;i<N;i++){long long t=now();setns(pool[i],CLONE_NEWNET);pid_t p=syscall(SYS_clone,BASE|SIGCHLD,NULL,NULL,NULL,0);if(p==0)_exit(0);setns(self,CLONE_NEWNET);v[i]=now()-t;int st;waitpid(p,&st,0);}
 report("pool: setns in + clone + setns out (no wait)",v,N);
 for(int i=0;i<N;i++){long long t=now();pid_t p=syscall(SYS_clone,BASE|SIGCHLD,NULL,NULL,NULL,0);if(p==0)_exit(0);v[i]=now()-t;int st;waitpid(p,&st,0);}
 report("baseline: clone (no wait)",v,N);
 for(int i=0;i<N;i++){long long t=now();pid_t p=syscall(SYS_clone,BASE|CLONE_NEWNET|SIGCHLD,NULL,NULL,NULL,0);if(p==0)_exit(0);v[i]=now()-t;int st;waitpid(p,&st,0);}
 report("per run: clone + NEWNET (no wait)",v,N);
 for(int i=0;i<N;i++){long long t=now();close(pool[i]);v[i]=now()-t;}
 report("pool: close (destroy) one",v,N);
 return 0;}
